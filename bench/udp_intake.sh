#!/usr/bin/env bash
# UDP intake into the disk ring alone (Kafka unreachable: acceptance only): tributary-load
# udp sends 200-byte datagrams for 3 s; prints what Tributary accepted, what it counted as
# dropped by reason, and the CPU seconds it used. Bounded: about 5 s.
#
#   bench/udp_intake.sh [SOCKETS] [RATE, 0 = as fast as possible] [SENDER_THREADS] [raw|json] [TRIBUTARY_BINARY]
#
# With json, every datagram is a 200-byte JSON value the intake validates. The sender uses UDP
# GSO (one send, many datagrams). Environment: RECEIVE_BUFFER (default 4MiB) and GRO=true
# (the source's `gro` option: take coalesced datagrams; default false). The last line says
# how many datagrams sent are neither received nor counted as dropped ("unexplained"); with
# GRO=true under overload it is not zero, as the kernel counts a dropped coalesced message
# once (see the option).
#
# KAFKA=true starts a local Kafka (on the same two cores) and also measures delivery: how
# many of the accepted events Kafka confirmed while the datagrams were being sent, and how
# long until it had confirmed them all (the rest wait in the ring meanwhile). Bounded: the
# wait for Kafka ends after 120 s.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SOCKETS="${1:-1}"; RATE="${2:-0}"; SENDERS="${3:-1}"; FORMAT="${4:-raw}"
cmake --preset release > /dev/null
cmake --build --preset release --target tributary tributary-load > /dev/null
W="$ROOT/build/bench/udp-intake"
rm -rf "$W"; mkdir -p "$W"
PID=""
BROKERS="127.0.0.1:1"
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  [ "${KAFKA:-false}" = true ] && scripts/services.sh stop kafka "$W" > /dev/null 2>&1
  true
}
trap cleanup EXIT
if [ "${KAFKA:-false}" = true ]; then
  scripts/services.sh start kafka "$W" > /dev/null
  . "$W/kafka.env"
  BROKERS="$KAFKA_BOOTSTRAP"
fi
cat > "$W/tributary.yaml" <<YAML
node_id: bench
io_threads: 2
buffer: {dir: $W/buffer, fsync: interval, max_size: 8GiB}
kafka: {brokers: "$BROKERS"}
metrics: {listen: "127.0.0.1:0"}
sources:
  - {name: meters, type: udp, listen: "127.0.0.1:0", topic: bench.udp, key: "{remote_ip}", threads: $SOCKETS, format: $FORMAT, receive_buffer: ${RECEIVE_BUFFER:-4MiB}, gro: ${GRO:-false}}
YAML
"${5:-build/release/app/tributary}" run -c "$W/tributary.yaml" 2> "$W/tributary.log" &
PID=$!
for _ in $(seq 50); do grep -q 'source=meters' "$W/tributary.log" && break; sleep 0.1; done
PORT=$(grep 'source=meters' "$W/tributary.log" | grep -o 'address=127.0.0.1:[0-9]*' | head -1 | cut -d: -f2)
ADMIN=$(grep 'admin listening' "$W/tributary.log" | grep -o '127.0.0.1:[0-9]*' | head -1)
metric() { curl -s "http://$ADMIN/metrics" | awk -v m="$1" '$1 == m { printf "%d", $2 }'; }
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
T0=$(cpu)
START=$(date +%s.%N)
SENT=$(build/release/tools/load/tributary-load udp --target "127.0.0.1:$PORT" --topic bench.udp \
  --log "$W/udp.log" --duration 3s --rate "$RATE" --threads "$SENDERS" --size 200 --format "$FORMAT" 2>/dev/null | tail -1)
echo "$SENT"
if [ "${KAFKA:-false}" = true ]; then
  SENT_END=$(date +%s.%N)
  during=$(metric tributary_kafka_delivered_total)
  appended=$(metric tributary_ring_appended_events_total)
  sleep 0.5
  appended=$(metric tributary_ring_appended_events_total)
  delivered=$during
  since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }
  while [ "${delivered:-0}" -lt "${appended:-0}" ] && [ "$(since "$START" | cut -d. -f1)" -lt 120 ]; do
    sleep 0.1
    delivered=$(metric tributary_kafka_delivered_total)
  done
  all=$(since "$START")
  awk -v d="$during" -v t="$(awk -v a="$START" -v b="$SENT_END" 'BEGIN { print b - a }')" -v n="$delivered" -v a="$appended" -v all="$all" \
    'BEGIN { printf "kafka: %d delivered while sending (%.0f/s over %.2f s); %d of %d accepted delivered %.2f s after the first datagram (%.0f/s)\n", d, d / t, t, n, a, all, n / all }'
fi
sleep 0.5
T1=$(cpu)
kill -TERM "$PID"; wait "$PID" || true
PID=""
STOPPED=$(grep 'udp source stopped' "$W/tributary.log" | sed 's/.*received=/received=/')
echo "$STOPPED"
field() { printf '%s\n' "$1" | grep -o "$2=[0-9]*" | head -1 | cut -d= -f2; }
echo "tributary CPU: $(( (T1 - T0) / 100 )).$(printf '%02d' $(( (T1 - T0) % 100 ))) s;" \
  "unexplained: $(( $(field "$SENT" sent) - $(field "$STOPPED" received) - $(field "$STOPPED" dropped_kernel) ))"
