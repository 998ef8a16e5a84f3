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
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SOCKETS="${1:-1}"; RATE="${2:-0}"; SENDERS="${3:-1}"; FORMAT="${4:-raw}"
cmake --preset release > /dev/null
cmake --build --preset release --target tributary tributary-load > /dev/null
W="$ROOT/build/bench/udp-intake"
rm -rf "$W"; mkdir -p "$W"
cat > "$W/tributary.yaml" <<YAML
node_id: bench
io_threads: 2
buffer: {dir: $W/buffer, fsync: interval, max_size: 8GiB}
kafka: {brokers: "127.0.0.1:1"}
sources:
  - {name: meters, type: udp, listen: "127.0.0.1:0", topic: bench.udp, key: "{remote_ip}", threads: $SOCKETS, format: $FORMAT, receive_buffer: ${RECEIVE_BUFFER:-4MiB}, gro: ${GRO:-false}}
YAML
"${5:-build/release/app/tributary}" run -c "$W/tributary.yaml" 2> "$W/tributary.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q 'source=meters' "$W/tributary.log" && break; sleep 0.1; done
PORT=$(grep -o 'address=127.0.0.1:[0-9]*' "$W/tributary.log" | head -1 | cut -d: -f2)
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
T0=$(cpu)
SENT=$(build/release/tools/load/tributary-load udp --target "127.0.0.1:$PORT" --topic bench.udp \
  --log "$W/udp.log" --duration 3s --rate "$RATE" --threads "$SENDERS" --size 200 --format "$FORMAT" 2>/dev/null | tail -1)
echo "$SENT"
sleep 0.5
T1=$(cpu)
kill -TERM "$PID"; wait "$PID" || true
trap - EXIT
STOPPED=$(grep 'udp source stopped' "$W/tributary.log" | sed 's/.*received=/received=/')
echo "$STOPPED"
field() { printf '%s\n' "$1" | grep -o "$2=[0-9]*" | head -1 | cut -d= -f2; }
echo "tributary CPU: $(( (T1 - T0) / 100 )).$(printf '%02d' $(( (T1 - T0) % 100 ))) s;" \
  "unexplained: $(( $(field "$SENT" sent) - $(field "$STOPPED" received) - $(field "$STOPPED" dropped_kernel) ))"
