#!/usr/bin/env bash
# Forwarder figures against a local Kafka: drain rate from a pre-filled ring against a bare
# librdkafka producer with the same settings, and acceptance-to-delivery latency at 70% of
# the drain rate. Starts its own Kafka. Bounded: about a minute.
#
#   bench/forwarder.sh [RECORDS]
#
# PIN=1 puts the Kafka broker on CPU 0 and the bench (appender, ring writer, forwarder and
# librdkafka) on CPU 1, as if the broker ran on a machine of its own: without it, on a
# machine of two cores, the broker's threads and the bench's take each other's CPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cmake --preset release > /dev/null
cmake --build --preset release --target forwarder_bench > /dev/null
W="$ROOT/build/bench/forwarder"
rm -rf "$W"; mkdir -p "$W"
trap 'scripts/services.sh stop kafka "$W" 2>/dev/null' EXIT
# The broker stands in for a cluster elsewhere. On two shared cores its C2 compiler took
# 0.4-2 s of CPU per latency run, and its request threads waited behind it for up to 41 ms
# (bench/README.md, session 18): C1 only, unless KAFKA_JVM_OPTS says otherwise.
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}" \
  scripts/services.sh start kafka "$W"
. "$W/kafka.env"
run=()
if [ "${PIN:-0}" = 1 ]; then
  [ "$(nproc)" -ge 2 ] || { echo "PIN=1 needs two CPUs" >&2; exit 1; }
  taskset -a -p 0x1 "$(cat "$W/kafka/kafka.pid")" > /dev/null   # every thread of the broker
  run=(taskset -c 1)
  echo "pinned: the broker on CPU 0, the bench on CPU 1"
fi
"${run[@]}" build/release/bench/forwarder_bench "$KAFKA_BOOTSTRAP" "$W/ring" --records "${1:-1000000}"
