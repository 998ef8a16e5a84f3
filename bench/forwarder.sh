#!/usr/bin/env bash
# Forwarder figures against a local Kafka: drain rate from a pre-filled ring against a bare
# librdkafka producer with the same settings, and acceptance-to-delivery latency at 70% of
# the drain rate. Starts its own Kafka. Bounded: about a minute.
#
#   bench/forwarder.sh [RECORDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cmake --preset release > /dev/null
cmake --build --preset release --target forwarder_bench > /dev/null
W="$ROOT/build/bench/forwarder"
rm -rf "$W"; mkdir -p "$W"
trap 'scripts/services.sh stop kafka "$W" 2>/dev/null' EXIT
scripts/services.sh start kafka "$W"
. "$W/kafka.env"
build/release/bench/forwarder_bench "$KAFKA_BOOTSTRAP" "$W/ring" --records "${1:-1000000}"
