#!/usr/bin/env bash
# The Debian package, end to end, on this machine (root; it installs and purges the package):
#   1. builds it with scripts/package.sh (TRIBUTARY_BINARY=PATH packages a prebuilt binary;
#      unset, the release preset is built) and runs lintian on it: no errors
#   2. dpkg -i: the system user, the unit and its template for more processes (verified,
#      exposure under a threshold), the conffile, the state directory; `tributary check`
#      of the installed default config
#   3. runs the installed binary as user tributary, under the unit's RestrictAddressFamilies=
#      and NoNewPrivileges= (sandbox_exec.py), with the default config pointed at a real
#      Kafka and Mosquitto (scripts/services.sh) on free loopback ports; sends one event
#      over UDP, HTTP and MQTT and finds each in Kafka; stops it with SIGTERM
#   4. with strace: every system call it made is allowed by the unit's SystemCallFilter=,
#      and it wrote only in its buffer and stage (no systemd runs here, so this is how the unit's
#      sandbox is checked against the program)
#   5. dpkg -r keeps /var/lib/tributary and the config; dpkg -P removes both and /run/tributary
#
#   tests/package/package_test.sh
#   TRIBUTARY_BINARY=build/release/app/tributary tests/package/package_test.sh
# PACKAGE_TEST_TIMEOUT (seconds, default 300) bounds the whole run; PACKAGE_TEST_STRACE=0
# skips step 4; PACKAGE_TEST_KEEP=1 keeps the work directory (logs, strace output).
set -euo pipefail

if [ -z "${PACKAGE_TEST_UNDER_TIMEOUT:-}" ]; then
  export PACKAGE_TEST_UNDER_TIMEOUT=1
  exec timeout -k 10 "${PACKAGE_TEST_TIMEOUT:-300}" "$0" "$@"
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -n "${TRIBUTARY_BINARY:-}" ]; then
  TRIBUTARY_BINARY="$(realpath -m "$TRIBUTARY_BINARY")"
  export TRIBUTARY_BINARY
fi
UNIT=/lib/systemd/system/tributary.service
CONF=/etc/tributary/tributary.yaml
STATE=/var/lib/tributary
MAX_EXPOSURE=15   # systemd-analyze's scale is 0..100; the unit scores 11 ("1.1 OK")

pass() { printf 'PASS %s (%ss)\n' "$*" "$SECONDS"; }
fail() {
  printf 'FAIL %s (%ss)\n' "$*" "$SECONDS"
  if [ -s "${WORK:-}/tributary.log" ]; then
    echo "--- last lines of the tributary log"; tail -n 30 "$WORK/tributary.log"
  fi
  exit 1
}
need() { command -v "$1" >/dev/null || fail "$1 not found (${2:-run scripts/install-deps.sh})"; }

[ "$(id -u)" -eq 0 ] || fail "must run as root: it installs and purges the package"
for tool in dpkg-deb lintian curl mosquitto_pub /usr/bin/python3 setpriv systemd-analyze java; do
  need "$tool" "apt-get install lintian, or run scripts/install-deps.sh"
done
KCAT=$(command -v kcat || command -v kafkacat) || fail "kcat not found (run scripts/install-deps.sh)"
if dpkg-query -W -f='${Status}' tributary 2>/dev/null | grep -qv 'not-installed'; then
  fail "the tributary package is already on this machine; remove it first (dpkg -P tributary)"
fi
getent passwd tributary >/dev/null && user_existed=1 || user_existed=0

WORK=$(mktemp -d /tmp/tributary-package-test.XXXXXX)
chmod 0755 "$WORK"   # the daemon runs as tributary and reads its config from here
RUNNER_PID=""
KAFKA_START_PID=""

cleanup() {
  set +e
  [ -n "$RUNNER_PID" ] && kill -TERM "$RUNNER_PID" 2>/dev/null && wait "$RUNNER_PID" 2>/dev/null
  # A Kafka still starting: end the starter; the broker it launched stops by its pid file.
  [ -n "$KAFKA_START_PID" ] && kill "$KAFKA_START_PID" 2>/dev/null && wait "$KAFKA_START_PID" 2>/dev/null
  "$ROOT/scripts/services.sh" stop kafka "$WORK/services" 2>/dev/null
  "$ROOT/scripts/services.sh" stop mosquitto "$WORK/services" 2>/dev/null
  if dpkg-query -W -f='${Status}' tributary 2>/dev/null | grep -qv 'not-installed'; then
    dpkg -P tributary > /dev/null 2>&1
  fi
  # The package leaves its system user on purge (the Debian way); the test does not.
  [ "$user_existed" = 0 ] && getent passwd tributary >/dev/null && deluser --system tributary >/dev/null 2>&1
  if [ "${PACKAGE_TEST_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'printf "FAIL interrupted or over PACKAGE_TEST_TIMEOUT (%ss)\n" "$SECONDS"; exit 143' TERM INT

# Kafka takes 10-20 s to start: start it now, use it in step 3.
"$ROOT/scripts/services.sh" start kafka "$WORK/services" > "$WORK/kafka-start.log" 2>&1 &
KAFKA_START_PID=$!

# ---------------------------------------------------------------- 1. build and lintian
DEB=$("$ROOT/scripts/package.sh" "$WORK/out" 2> "$WORK/package.log") ||
  { cat "$WORK/package.log"; fail "scripts/package.sh"; }
pass "package built: $(basename "$DEB")"
lintian --display-info --fail-on error "$DEB" > "$WORK/lintian.log" 2>&1 ||
  { cat "$WORK/lintian.log"; fail "lintian"; }
grep -E '^[EWI]: ' "$WORK/lintian.log" | sed 's/^/  lintian /' || true
pass "lintian: no errors ($(grep -c '^W: ' "$WORK/lintian.log" || true) warnings)"

# ---------------------------------------------------------------- 2. install
dpkg -i "$DEB" > "$WORK/dpkg-install.log" 2>&1 || { cat "$WORK/dpkg-install.log"; fail "dpkg -i"; }
pass "dpkg -i"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd tributary) || fail "no user tributary"
{ [ "$uid" -lt 1000 ] && [ "$home" = "$STATE" ] && [ "$shell" = /usr/sbin/nologin ]; } ||
  fail "user tributary: uid $uid, home $home, shell $shell (want a system user, $STATE, nologin)"
[ "$(getent group tributary | cut -d: -f3)" = "$gid" ] || fail "tributary's primary group is not tributary"
pass "system user and group tributary (uid $uid)"
[ -f "$UNIT" ] || fail "$UNIT missing"
systemd-analyze verify "$UNIT" > "$WORK/verify.log" 2>&1 || { cat "$WORK/verify.log"; fail "systemd-analyze verify"; }
systemd-analyze security --offline=true --threshold="$MAX_EXPOSURE" "$UNIT" > "$WORK/security.log" 2>&1 ||
  { tail -n 3 "$WORK/security.log"; fail "unit exposure above $MAX_EXPOSURE/100"; }
[ -L /etc/systemd/system/multi-user.target.wants/tributary.service ] || fail "unit not enabled"
pass "unit installed, verified, enabled; $(grep -o 'exposure level.*' "$WORK/security.log")"
# The template for more processes: the same unit with its config and state per instance.
TEMPLATE=/lib/systemd/system/tributary@.service
[ -f "$TEMPLATE" ] || fail "$TEMPLATE missing"
grep -qx 'ExecStart=/usr/bin/tributary run -c /etc/tributary/%i.yaml' "$TEMPLATE" || fail "$TEMPLATE: ExecStart="
grep -qx 'StateDirectory=tributary/%i' "$TEMPLATE" || fail "$TEMPLATE: StateDirectory="
grep -qx 'RuntimeDirectory=tributary/%i' "$TEMPLATE" || fail "$TEMPLATE: RuntimeDirectory="
grep -q '^# ring lives in /var/lib/tributary/NAME/buffer ' "$TEMPLATE" || fail "$TEMPLATE: the ring's comment"
[ "$(diff "$UNIT" "$TEMPLATE" | grep -c '^>')" -eq 5 ] || fail "$TEMPLATE differs from $UNIT in other than 5 lines"
systemd-analyze verify "$TEMPLATE" > "$WORK/verify-template.log" 2>&1 ||
  { cat "$WORK/verify-template.log"; fail "systemd-analyze verify $TEMPLATE"; }
cp "$TEMPLATE" "$WORK/tributary@check.service"
systemd-analyze security --offline=true --threshold="$MAX_EXPOSURE" "$WORK/tributary@check.service" \
  > "$WORK/security-template.log" 2>&1 ||
  { tail -n 3 "$WORK/security-template.log"; fail "template exposure above $MAX_EXPOSURE/100"; }
pass "template unit tributary@.service verified; $(grep -o 'exposure level.*' "$WORK/security-template.log")"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' tributary)
grep -q "^ $CONF " <<< "$conffiles" || fail "$CONF is not a conffile"
[ "$(stat -c '%U:%G %a' "$STATE")" = "tributary:tributary 750" ] ||
  fail "$STATE is $(stat -c '%U:%G %a' "$STATE"), want tributary:tributary 750"
pass "conffile $CONF, state directory $STATE"
/usr/bin/tributary check "$CONF" > "$WORK/check.log" 2>&1 || { cat "$WORK/check.log"; fail "tributary check $CONF"; }
pass "tributary check $CONF"

# ---------------------------------------------------------------- 3. events through the installed binary
"$ROOT/scripts/services.sh" start mosquitto "$WORK/services" > "$WORK/mosquitto-start.log" 2>&1 ||
  { cat "$WORK/mosquitto-start.log"; fail "mosquitto did not start"; }
wait "$KAFKA_START_PID" || { KAFKA_START_PID=""; cat "$WORK/kafka-start.log"; fail "kafka did not start"; }
KAFKA_START_PID=""
# shellcheck disable=SC1091
. "$WORK/services/kafka.env"
# shellcheck disable=SC1091
. "$WORK/services/mosquitto.env"
pass "kafka on $KAFKA_BOOTSTRAP, mosquitto on $MQTT_HOST:$MQTT_PORT"

free_port() {  # a port free for both TCP and UDP on loopback
  /usr/bin/python3 - <<'PY'
import socket
for _ in range(50):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port)); print(port); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
PY
}
UDP_PORT=$(free_port)
HTTP_PORT=$(free_port)
[ "$UDP_PORT" != "$HTTP_PORT" ] || HTTP_PORT=$(free_port)

# The installed default config, pointed at the test's services, ports and buffer.
cfg="$WORK/tributary.yaml"
cp "$CONF" "$cfg"
edit() {  # FROM TO: fails when the default config no longer has FROM
  grep -qF -- "$1" "$cfg" || fail "the default config has no '$1' any more; update this test"
  sed -i "s|$1|$2|" "$cfg"
}
# localhost, as in the default config: name resolution runs under the unit's socket families.
edit "brokers: localhost:9092" "brokers: localhost:${KAFKA_BOOTSTRAP##*:}"
edit "tcp://127.0.0.1:1883" "tcp://$MQTT_HOST:$MQTT_PORT"
edit "dir: /var/lib/tributary/buffer" "dir: $WORK/buffer"
# The stage in the unit's runtime directory (/run/tributary, a tmpfs); here one of the test's.
grep -qx 'RuntimeDirectory=tributary' "$UNIT" || fail "$UNIT: no RuntimeDirectory=tributary for the stage"
edit "stage: /run/tributary/stage" "stage: $WORK/run/stage"
edit "listen: 127.0.0.1:5514" "listen: 127.0.0.1:$UDP_PORT"
edit "listen: 127.0.0.1:8080" "listen: 127.0.0.1:$HTTP_PORT"
METRICS_PORT=""
if grep -q '^metrics:' "$cfg"; then   # once the default config enables the admin listener
  METRICS_PORT=$(free_port)
  edit 'listen: "127.0.0.1:9464"' "listen: \"127.0.0.1:$METRICS_PORT\""
fi
for line in "topic: edge.udp" "topic: edge.events" '"sensors/{site}/{device}/telemetry"' '"iot.{site}"'; do
  grep -qF -- "$line" "$cfg" || fail "the default config has no '$line' any more; update this test"
done
chmod 0644 "$cfg"
install -d -o tributary -g tributary -m 0750 "$WORK/buffer" "$WORK/run"
/usr/bin/tributary check "$cfg" > "$WORK/check-test.log" 2>&1 || { cat "$WORK/check-test.log"; fail "check of the test config"; }

use_strace=0
if [ "${PACKAGE_TEST_STRACE:-1}" != 0 ] && command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
  use_strace=1
fi
# The unit's socket families, enforced by a seccomp filter as systemd would.
read -r -a families <<< "$(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT")"
[ "${#families[@]}" -gt 0 ] || fail "no RestrictAddressFamilies= in $UNIT"
sandboxed=(/usr/bin/python3 "$ROOT/tests/package/sandbox_exec.py" "${families[@]}" --
           /usr/bin/tributary run -c "$cfg")
if [ "$use_strace" = 1 ]; then
  # -ff: one file per thread, so no call is split over two lines.
  mkdir "$WORK/strace"
  strace -ff -qq -o "$WORK/strace/trace" -u tributary "${sandboxed[@]}" 2> "$WORK/tributary.log" &
else
  setpriv --reuid=tributary --regid=tributary --init-groups "${sandboxed[@]}" 2> "$WORK/tributary.log" &
fi
RUNNER_PID=$!
wait_for_log() {  # PATTERN SECONDS
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    grep -qF -- "$1" "$WORK/tributary.log" && return 0
    kill -0 "$RUNNER_PID" 2>/dev/null || fail "tributary exited while starting"
    sleep 0.2
  done
  fail "tributary did not log '$1' in $2 s"
}
wait_for_log "msg=listening source=udp transport=udp address=127.0.0.1:$UDP_PORT" 30
wait_for_log "msg=listening source=http transport=http address=127.0.0.1:$HTTP_PORT" 30
wait_for_log 'msg="mqtt subscribed" source=mqtt' 30
grep -q "msg=\"buffer recovered\".* stage=$WORK/run/stage " "$WORK/tributary.log" ||
  fail "the ring did not open the default config's stage"
[ -f "$WORK/run/stage" ] || fail "no stage file $WORK/run/stage"
pass "tributary runs as user tributary (socket families ${families[*]}; strace: $use_strace), listening on UDP $UDP_PORT and HTTP $HTTP_PORT, MQTT subscribed"

tag="package-test-$$-$(date +%s%N)"
printf '%s' "udp-$tag" > "/dev/udp/127.0.0.1/$UDP_PORT"
code=$(curl -sS -o "$WORK/http-answer" -w '%{http_code}' -X POST -H 'X-Event-Key: package-test' \
  --data "http-$tag" "http://127.0.0.1:$HTTP_PORT/v1/events/events") || fail "HTTP POST"
[ "$code" = 202 ] || fail "HTTP POST answered $code: $(cat "$WORK/http-answer")"
mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t sensors/site1/dev-1/telemetry -m "mqtt-$tag" ||
  fail "mosquitto_pub"
pass "sent one event each over UDP, HTTP (202) and MQTT"

in_kafka() {  # TOPIC VALUE SECONDS
  local deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    timeout 15 "$KCAT" -C -b "$KAFKA_BOOTSTRAP" -t "$1" -o beginning -e -q -f '%s\n' \
      > "$WORK/topic.txt" 2>/dev/null || true
    grep -qxF -- "$2" "$WORK/topic.txt" && return 0
    sleep 0.5
  done
  return 1
}
in_kafka edge.udp "udp-$tag" 60 || fail "the UDP event did not arrive in Kafka topic edge.udp"
in_kafka edge.events "http-$tag" 60 || fail "the HTTP event did not arrive in Kafka topic edge.events"
in_kafka iot.site1 "mqtt-$tag" 60 || fail "the MQTT event did not arrive in Kafka topic iot.site1"
pass "all three events are in Kafka (edge.udp, edge.events, iot.site1)"

if [ -n "$METRICS_PORT" ]; then
  admin="http://127.0.0.1:$METRICS_PORT"
  curl -fsS -o /dev/null "$admin/healthz" || fail "GET /healthz"
  curl -fsS -o /dev/null "$admin/readyz" || fail "GET /readyz"
  curl -fsS -o "$WORK/metrics.txt" "$admin/metrics" || fail "GET /metrics"
  awk '$1 == "tributary_ready" && $2 == 1 { ok = 1 } END { exit !ok }' "$WORK/metrics.txt" ||
    fail "/metrics has no 'tributary_ready 1'"
  # The three events went through the default config's stage.
  awk '$1 == "tributary_ring_staged_events_total" && $2 >= 3 { ok = 1 } END { exit !ok }' "$WORK/metrics.txt" ||
    fail "/metrics: tributary_ring_staged_events_total is not at least 3: $(grep '^tributary_ring_stage' "$WORK/metrics.txt" | tr '\n' ' ')"
  # The dashboard's metrics that /metrics does not show (yet): a labelled counter that has
  # counted nothing may have no series, so this is a note, not a failure.
  missing=$(grep -oE '\b(tributary|process)_[a-z_]+' "$ROOT/packaging/grafana-dashboard.json" |
    sed -E 's/_(bucket|sum|count)$//' | sort -u | while read -r name; do
      grep -qE "^(# TYPE )?${name}(_bucket|_sum|_count)?[ {]" "$WORK/metrics.txt" || printf '%s ' "$name"
    done)
  [ -z "$missing" ] || echo "note: dashboard metrics without series in /metrics: $missing"
  pass "admin listener on $METRICS_PORT: /healthz, /readyz, /metrics with tributary_ready 1 and the staged events"
fi

# SIGTERM to the daemon itself (under strace it is strace's child).
daemon_pid=$RUNNER_PID
[ "$use_strace" = 1 ] && daemon_pid=$(pgrep -P "$RUNNER_PID" | head -n 1)
kill -TERM "$daemon_pid"
rc=0; wait "$RUNNER_PID" || rc=$?
RUNNER_PID=""
[ "$rc" = 0 ] || fail "tributary exited with $rc after SIGTERM"
grep -q 'msg="tributary stopped"' "$WORK/tributary.log" || fail "no 'tributary stopped' in the log"
pass "SIGTERM: drained and exited 0"

# ---------------------------------------------------------------- 4. the sandbox against what the daemon did
if [ "$use_strace" = 1 ]; then
  /usr/bin/python3 "$ROOT/tests/package/check_sandbox.py" "$UNIT" "$WORK/buffer:$WORK/run" "$WORK"/strace/trace.* \
    > "$WORK/sandbox.log" 2>&1 ||
    { cat "$WORK/sandbox.log"; fail "the unit's sandbox would refuse what the daemon did"; }
  pass "sandbox: $(tail -n 1 "$WORK/sandbox.log"): all allowed by the unit"
else
  echo "SKIP sandbox check (no strace, or PACKAGE_TEST_STRACE=0)"
fi

# ---------------------------------------------------------------- 5. remove and purge
runuser -u tributary -- touch "$STATE/kept-on-remove"
dpkg -r tributary > "$WORK/dpkg-remove.log" 2>&1 || { cat "$WORK/dpkg-remove.log"; fail "dpkg -r"; }
[ ! -e /usr/bin/tributary ] || fail "dpkg -r left /usr/bin/tributary"
[ -f "$STATE/kept-on-remove" ] || fail "dpkg -r deleted $STATE"
[ -f "$CONF" ] || fail "dpkg -r deleted the conffile $CONF"
pass "dpkg -r: binary gone, $STATE and $CONF kept"
# The runtime directory systemd would have made and kept (no systemd runs here).
install -d -o tributary -g tributary -m 0750 /run/tributary
runuser -u tributary -- touch /run/tributary/stage
dpkg -P tributary > "$WORK/dpkg-purge.log" 2>&1 || { cat "$WORK/dpkg-purge.log"; fail "dpkg -P"; }
[ ! -e "$STATE" ] || fail "dpkg -P left $STATE"
[ ! -e /run/tributary ] || fail "dpkg -P left /run/tributary"
[ ! -e /etc/tributary ] || fail "dpkg -P left /etc/tributary"
[ ! -e /etc/systemd/system/multi-user.target.wants/tributary.service ] || fail "dpkg -P left the unit enabled"
pass "dpkg -P: $STATE, /run/tributary, /etc/tributary and the unit's enablement gone"

echo "PASS package test ($SECONDS s)"
