#!/usr/bin/env bash
# MQTT bridge into the ring (Kafka unreachable: acceptance only) against a bare Paho
# subscriber that only counts, in the same run, for QoS 0 and QoS 1: tributary-load mqtt
# publishes COUNT messages of 200 bytes through a local Mosquitto as fast as the broker
# takes them. The rate is from the first message to the last one in (the bridge: in the
# ring, as `tributary buffer inspect` counts it). Bounded: about a minute.
#
#   bench/mqtt_bridge.sh [COUNT] [CLIENTS] [fsync policy]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
COUNT="${1:-100000}"; CLIENTS="${2:-1}"; FSYNC="${3:-interval}"
cmake --preset release > /dev/null
cmake --build --preset release --target tributary tributary-load mqtt_count > /dev/null
B=build/release
W="$ROOT/build/bench/mqtt-bridge"
rm -rf "$W"; mkdir -p "$W"
trap 'scripts/services.sh stop mosquitto "$W" 2>/dev/null; [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; true' EXIT
scripts/services.sh start mosquitto "$W" 2>/dev/null
. "$W/mosquitto.env"
URI="tcp://$MQTT_HOST:$MQTT_PORT"

publish() {  # QOS TOPIC_PREFIX
  "$B/tools/load/tributary-load" mqtt --target "$MQTT_HOST:$MQTT_PORT" --mqtt-topic "$2/{key}/data" \
    --topic unused --log "$W/pub.log" --qos "$1" --count "$COUNT" --size 200 --connections 2 > /dev/null 2>&1
}

for QOS in 0 1; do
  # Bare subscriber.
  "$B/bench/mqtt_count" "$URI" "bare$QOS/+/data" "$QOS" "$COUNT" 120 > "$W/count.out" &
  CP=$!
  for _ in $(seq 50); do grep -q subscribed "$W/count.out" && break; sleep 0.1; done
  publish "$QOS" "bare$QOS"
  wait "$CP" || true
  echo "QoS $QOS bare subscriber:  $(tail -1 "$W/count.out")"

  # The bridge.
  rm -rf "$W/buffer"
  cat > "$W/tributary.yaml" <<YAML
node_id: bench
buffer: {dir: $W/buffer, fsync: $FSYNC, max_size: 8GiB}
kafka: {brokers: "127.0.0.1:1"}
sources:
  - name: bridge
    type: mqtt
    broker: $URI
    clients: $CLIENTS
    subscriptions:
      - {filter: "bridge$QOS/{key}/data", qos: $QOS, topic: bench.mqtt, key: "{key}"}
YAML
  "$B/app/tributary" run -c "$W/tributary.yaml" 2> "$W/tributary.log" &
  PID=$!
  for _ in $(seq 100); do [ "$(grep -c 'mqtt subscribed' "$W/tributary.log")" -ge "$CLIENTS" ] && break; sleep 0.1; done
  publish "$QOS" "bridge$QOS" &
  PP=$!
  start="" ; n=0
  for _ in $(seq 6000); do
    n=$("$B/app/tributary" buffer inspect "$W/buffer" 2>/dev/null | sed -n 's/.*backlog: *\([0-9]*\).*/\1/p' | head -1)
    n=${n:-0}
    [ -z "$start" ] && [ "$n" -gt 0 ] && start=$(date +%s.%N) && first=$n
    [ "$n" -ge "$COUNT" ] && break
    sleep 0.02
  done
  end=$(date +%s.%N)
  wait "$PP" || true
  kill -TERM "$PID"; wait "$PID" || true; PID=""
  awk -v n="$n" -v f="${first:-0}" -v s="${start:-$end}" -v e="$end" -v q="$QOS" \
    'BEGIN { d = e - s; printf "QoS %d bridge into ring:  %d of the messages in %.3f s: %.0f messages/s\n", q, n, d, d > 0 ? (n - f) / d : 0 }'
  grep 'mqtt source stopped' "$W/tributary.log" | sed 's/.*received=/  counters: received=/'
done
