#!/usr/bin/env bash
# HTTP intake figures with wrk (a standard load tool from Debian) against the real binary
# and a real Kafka: single small events on keep-alive connections, and NDJSON batches of
# 100 and 1,000 events, under `fsync: interval`. Prints requests/s, accepted events/s (2xx only), p50/p99
# latency, non-2xx answers and the process's resident memory before, during and after each
# run (memory must stay flat: overload goes to 503s, never to RAM). Bounded: about a minute.
#
# KAFKA=false leaves Kafka unreachable (acceptance into the ring only, as on a gateway whose
# broker runs elsewhere and whose uplink is down; the ring is allowed 8 GiB); by default a
# local Kafka on the same two cores drains the ring while the load runs. IO_THREADS sets
# `io_threads` (default: Tributary's own). STAGE (default 1, as the package's config ships)
# gives the ring a buffer.stage in /dev/shm (removed afterwards); STAGE=0 runs without.
#
#   bench/http_intake.sh [SECONDS] [CONNECTIONS] [TRIBUTARY_BINARY]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECS="${1:-10}"
CONNS="${2:-64}"
command -v wrk > /dev/null || { echo "wrk not found: scripts/install-deps.sh installs it" >&2; exit 1; }
if [ -z "${3:-}" ]; then
  cmake --preset release > /dev/null
  cmake --build --preset release --target tributary > /dev/null
fi
BIN="${3:-$ROOT/build/release/app/tributary}"
W="$ROOT/build/bench/http-intake"
rm -rf "$W"; mkdir -p "$W"
PID=""
STAGE_FILE=/dev/shm/tributary-bench-http-stage
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -f "$STAGE_FILE"; scripts/services.sh stop kafka "$W" 2>/dev/null' EXIT
stage=""; [ "${STAGE:-1}" = 1 ] && stage=", stage: $STAGE_FILE"
KAFKA_BOOTSTRAP=127.0.0.1:1
MAX_SIZE=2GiB
if [ "${KAFKA:-true}" = true ]; then
  scripts/services.sh start kafka "$W"
  . "$W/kafka.env"
else
  MAX_SIZE=8GiB
fi
cat > "$W/tributary.yaml" <<YAML
node_id: bench
${IO_THREADS:+io_threads: $IO_THREADS}
buffer: {dir: $W/buffer, fsync: interval, max_size: $MAX_SIZE$stage}
kafka:
  brokers: $KAFKA_BOOTSTRAP
sources:
  - name: api
    type: http
    listen: 127.0.0.1:0
    max_body: 4MiB
    routes:
      - {name: load, topic: bench.http}
YAML
"$BIN" run -c "$W/tributary.yaml" 2> "$W/tributary.log" &
PID=$!
for _ in $(seq 100); do grep -q 'source=api' "$W/tributary.log" && break; sleep 0.1; done
ADDR=$(grep -o "source=api transport=[a-z]* address=[^ ]*" "$W/tributary.log" | sed 's/.*address=//')
URL="http://$ADDR/v1/events/load"
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$PID/status"; }
curl -s -o /dev/null -X POST --data warm "$URL"  # creates the topic (with Kafka)

run() {  # BATCH
  local before during after out
  before=$(rss)
  BATCH=$1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s bench/wrk_post.lua "$URL" > "$W/wrk-$1.txt" &
  local wrk_pid=$!
  sleep $(( SECS / 2 )); during=$(rss)
  wait "$wrk_pid"; after=$(rss)
  out="$W/wrk-$1.txt"
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  total=$(awk '/requests in/ {print $1}' "$out")
  # Accepted events only: a 503 (the ring full, Kafka slower than the load) stored nothing.
  printf 'batch=%-5s connections=%s requests/s=%s accepted_events/s=%.0f p50=%s p99=%s non-2xx=%s rss_before=%s rss_during=%s rss_after=%s\n' \
    "$1" "$CONNS" "$rps" "$(awk -v r="$rps" -v b="$1" -v n="$non2xx" -v t="${total:-0}" 'BEGIN {print (t > 0 ? r * b * (t - n) / t : 0)}')" \
    "$p50" "$p99" "$non2xx" "$before" "$during" "$after"
}
# Warm-up, not counted: Kafka's first seconds after its start go to its JIT compiler, on the
# same two cores.
BATCH=1 wrk -t1 -c"$CONNS" -d5s -s bench/wrk_post.lua "$URL" > "$W/wrk-warm.txt"
echo "stage: ${STAGE:-1}; warm-up (not counted): $(awk '/Requests\/sec/ {print $2}' "$W/wrk-warm.txt") requests/s"
run 1
run 100
run 1000
