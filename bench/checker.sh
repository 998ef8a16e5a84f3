#!/usr/bin/env bash
# How fast the delivery checker reads: fills a topic of a fresh test Kafka with 3 million
# 100-byte records (tributary-load kafka), then checks them three times. Bounded.
#
#   bench/checker.sh               # after scripts/install-deps.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cmake --preset release > /dev/null
cmake --build --preset release --target tributary-load > /dev/null
B="$ROOT/build/release/tools/load/tributary-load"
WORK="$ROOT/build/bench/checker"
rm -rf "$WORK"; mkdir -p "$WORK"
trap 'scripts/services.sh stop kafka "$WORK" 2>/dev/null' EXIT
scripts/services.sh start kafka "$WORK"
. "$WORK/kafka.env"
COUNT="${COUNT:-3000000}"
"$B" kafka --brokers "$KAFKA_BOOTSTRAP" --topic bench.check --log "$WORK/obligations.log" \
  --count "$COUNT" --size 100 2> /dev/null
for i in 1 2 3; do
  "$B" check --brokers "$KAFKA_BOOTSTRAP" --log "$WORK/obligations.log" --settle 2s 2> /dev/null |
    grep -o 'read=.*'
done
