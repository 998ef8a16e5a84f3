#!/usr/bin/env bash
# MQTT bridge into the ring (Kafka unreachable: acceptance only) against a bare Paho
# subscriber that only counts, in the same run, for QoS 0 and QoS 1, 200-byte payloads.
# Each subscriber first leaves a persistent session at the broker; COUNT messages are then
# published into it while it is away (the broker queues them), and the rate is how fast the
# subscriber takes the queue when it returns — so the publisher's speed does not enter.
# The bridge's count is what is in the ring (`tributary buffer inspect`), its time from the
# first record written to the last (the segment files growing). About a minute.
#
#   bench/mqtt_bridge.sh [COUNT] [CLIENTS] [fsync policy]
#
# ROUNDS (default 3) rounds of bare subscriber then bridge per QoS: single runs on this kind
# of machine vary by 20% and more, so the median of the per-round ratios is the figure (the
# lower middle one for an even ROUNDS).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
COUNT="${1:-100000}"; CLIENTS="${2:-1}"; FSYNC="${3:-interval}"; ROUNDS="${ROUNDS:-3}"
cmake --preset release > /dev/null
cmake --build --preset release --target tributary tributary-load mqtt_count > /dev/null
B=build/release
W="$ROOT/build/bench/mqtt-bridge"
rm -rf "$W"; mkdir -p "$W/mosquitto"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$W/mosquitto/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
max_queued_messages 10000000
max_queued_bytes 0
queue_qos0_messages true
CONF
mosquitto -c "$W/mosquitto/mosquitto.conf" > "$W/mosquitto/log" 2>&1 &
MPID=$!
PID=""
trap 'kill $MPID 2>/dev/null; [ -n "$PID" ] && kill "$PID" 2>/dev/null; true' EXIT
sleep 0.5
URI="tcp://127.0.0.1:$PORT"

publish() {  # QOS TOPIC_PREFIX
  "$B/tools/load/tributary-load" mqtt --target "127.0.0.1:$PORT" --mqtt-topic "$2/{key}/data" \
    --topic unused --log "$W/pub.log" --qos "$1" --count "$COUNT" --size 200 --connections 2 > /dev/null 2>&1
}
backlog() { "$B/app/tributary" buffer inspect "$W/buffer" 2>/dev/null | sed -n 's/^backlog: *\([0-9]*\).*/\1/p' | head -1; }

echo "mqtt_bridge: $COUNT messages of 200 bytes, bridge clients: $CLIENTS, fsync: $FSYNC"
for QOS in 0 1; do
 ratios=()
 for ROUND in $(seq "$ROUNDS"); do
  "$B/bench/mqtt_count" "$URI" bench-bare "bare$QOS/+/data" "$QOS" prepare
  publish "$QOS" "bare$QOS"
  bare=$("$B/bench/mqtt_count" "$URI" bench-bare "bare$QOS/+/data" "$QOS" "$COUNT" 120) || true  # short: said below
  echo "QoS $QOS round $ROUND bare subscriber: $bare"
  bare_rate=$(printf '%s\n' "$bare" | grep -o '[0-9]* messages/s' | cut -d' ' -f1)

  rm -rf "$W/buffer"
  cat > "$W/tributary.yaml" <<YAML
node_id: bench
buffer: {dir: $W/buffer, fsync: $FSYNC, max_size: 8GiB}
kafka: {brokers: "127.0.0.1:1"}
sources:
  - name: bridge
    type: mqtt
    broker: $URI
    client_id: bench-bridge
    clients: $CLIENTS
    subscriptions:
      - {filter: "bridge$QOS/{key}/data", qos: $QOS, topic: bench.mqtt, key: "{key}"}
YAML
  run_bridge() {
    "$B/app/tributary" run -c "$W/tributary.yaml" 2> "$W/tributary.log" &
    PID=$!
    for _ in $(seq 100); do [ "$(grep -c 'mqtt subscribed' "$W/tributary.log")" -ge "$CLIENTS" ] && break; sleep 0.05; done
  }
  run_bridge  # leaves the session
  kill -TERM "$PID"; wait "$PID" || true
  publish "$QOS" "bridge$QOS"
  # Watch the segment files fill (allocated blocks: cheap, unlike running inspect), from the
  # first record written to the last, i.e. until nothing was written for a second.
  python3 - "$W/buffer" > "$W/span" <<'PY' &
import glob, os, sys, time
def size():
    return sum(os.stat(f).st_blocks for f in glob.glob(sys.argv[1] + "/*.seg"))
start = time.monotonic(); seen = size(); first = last = None
while time.monotonic() - start < 120:
    now = time.monotonic(); s = size()
    if s != seen:
        seen = s; last = now
        if first is None: first = now
    if first is not None and now - last > 1.0: break
    time.sleep(0.002)
print(f"{last - first:.3f}" if first is not None else "0")
PY
  WATCH=$!
  run_bridge
  wait "$WATCH"
  span=$(cat "$W/span")
  n=$(backlog); n=${n:-0}
  kill -TERM "$PID"; wait "$PID" || true; PID=""
  bridge_rate=$(awk -v n="$n" -v d="$span" 'BEGIN { printf "%.0f", (d > 0 ? n / d : 0) }')
  echo "QoS $QOS round $ROUND bridge into the ring: $n messages in $span s: $bridge_rate messages/s"
  grep 'mqtt source stopped' "$W/tributary.log" | sed 's/.*received=/  counters: received=/'
  ratios+=("$(awk -v a="$bridge_rate" -v b="${bare_rate:-0}" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }')")
 done
 median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }')
 echo "QoS $QOS bridge / bare, per round: ${ratios[*]} (%); median: ${median}%"
done
