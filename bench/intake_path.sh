#!/usr/bin/env bash
# Intake-to-Kafka figures through the real binary: HTTP (8 keep-alive connections, 20,000
# events) and UDP (200,000 datagrams at 100k/s), each checked with tributary-load check.
# Starts its own Kafka. Bounded: about a minute.
#
#   bench/intake_path.sh [interval|always] [TRIBUTARY_BINARY]
# A BINARY from before the disk ring existed is run without the `buffer:` section.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FSYNC="${1:-interval}"
cmake --preset release > /dev/null
cmake --build --preset release --target tributary tributary-load > /dev/null
BIN="${2:-$ROOT/build/release/app/tributary}"
L="$ROOT/build/release/tools/load/tributary-load"
W="$ROOT/build/bench/intake-path"
rm -rf "$W"; mkdir -p "$W"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; scripts/services.sh stop kafka "$W" 2>/dev/null' EXIT
scripts/services.sh start kafka "$W"
. "$W/kafka.env"
BUFFER="buffer: {dir: $W/buffer, fsync: $FSYNC}"
[ -n "${2:-}" ] && ! "$BIN" config-reference 2>/dev/null | grep -q '## `buffer`' && BUFFER=""
cat > "$W/tributary.yaml" <<YAML
node_id: bench
$BUFFER
kafka:
  brokers: $KAFKA_BOOTSTRAP
sources:
  - {name: meters, type: udp, listen: "127.0.0.1:0", topic: bench.udp}
  - name: api
    type: http
    listen: 127.0.0.1:0
    routes:
      - {name: load, topic: bench.http, key: "{header:X-Key}"}
YAML
"$BIN" run -c "$W/tributary.yaml" 2> "$W/tributary.log" &
PID=$!
for _ in $(seq 100); do
  grep -q 'source=meters' "$W/tributary.log" && grep -q 'source=api' "$W/tributary.log" && break
  sleep 0.1
done
addr() { grep -o "source=$1 transport=[a-z]* address=[^ ]*" "$W/tributary.log" | sed 's/.*address=//'; }
# Create the topics first, so the figures are steady state, not topic creation.
"$L" http --target "$(addr api)" --route load --topic bench.http --log "$W/warm.log" --count 50 \
  --connections 1 --run-id aaaaaaaaaaaa > /dev/null 2>&1
"$L" http --target "$(addr api)" --route load --topic bench.http --log "$W/http.log" --count 20000 \
  --connections 8 --run-id bbbbbbbbbbbb --first-seq 1000 2> /dev/null
"$L" udp --target "$(addr meters)" --topic bench.udp --log "$W/udp.log" --count 200000 --rate 100000 2> /dev/null
"$L" check --brokers "$KAFKA_BOOTSTRAP" --log "$W/http.log" --settle 3s 2> /dev/null
"$L" check --brokers "$KAFKA_BOOTSTRAP" --log "$W/udp.log" --settle 3s 2> /dev/null
