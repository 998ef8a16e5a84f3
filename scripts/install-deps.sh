#!/usr/bin/env bash
# Installs everything Tributary needs to build, test and run its demo on Debian 12:
# the Debian packages, a JDK and Maven (for the test Kafka), and the Kafka broker jars.
# Idempotent: what is already there is not installed again.
#
#   scripts/install-deps.sh            # packages + Kafka jars
#   KAFKA_JARS=DIR scripts/install-deps.sh   # put the jars elsewhere
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_JARS="${KAFKA_JARS:-$ROOT/build/kafka-jars}"

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev librdkafka-dev libpaho-mqttpp-dev libpaho-mqtt-dev
  libflatbuffers-dev flatbuffers-compiler prometheus-cpp-dev libyaml-cpp-dev nlohmann-json3-dev libsimdjson-dev
  libgtest-dev libgmock-dev libssl-dev libxxhash-dev
  mosquitto mosquitto-clients kafkacat curl procps iproute2 python3
  xfsprogs e2fsprogs mount
  clang-14 libclang-rt-14-dev openssl libsystemd-dev lintian strace wrk
)

log() { printf '[install-deps] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The broker needs Java 17 or newer; any JDK already on the machine will do.
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then
  missing+=(default-jre-headless)
fi
command -v mvn >/dev/null || missing+=(maven)

if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
else
  log "Debian packages: all present"
fi

# Mosquitto's package starts a system broker on port 1883; the tests and the demo run
# their own brokers on free ports and do not need it.

stamp="$KAFKA_JARS/.complete-$(sha256sum "$ROOT/scripts/kafka/pom.xml" | cut -c1-16)"
if [ -f "$stamp" ]; then
  log "Kafka jars: present in $KAFKA_JARS"
else
  log "fetching the Kafka broker jars into $KAFKA_JARS"
  started=$(date +%s)
  rm -rf "$KAFKA_JARS"
  mkdir -p "$KAFKA_JARS"
  mvn -q -B -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_JARS"
  touch "$stamp"
  log "Kafka jars fetched in $(( $(date +%s) - started ))s"
fi
