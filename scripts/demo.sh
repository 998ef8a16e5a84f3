#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: installs what is missing, builds Tributary,
# starts a real Kafka and Mosquitto on free loopback ports, starts Tributary with
# scripts/demo.yaml, sends sample events over UDP, HTTP, device frames and MQTT, prints the
# records as they arrive in Kafka, then stops everything.
#
#   scripts/demo.sh                         # release build
#   TRIBUTARY_DEMO_PRESET=dev scripts/demo.sh   # another preset's build (the test suite runs it so)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PRESET="${TRIBUTARY_DEMO_PRESET:-release}"
DEMO="$ROOT/build/demo"
SERVICES="$DEMO/services"
BIN="$ROOT/build/$PRESET/app/tributary"
PIDS=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do pkill -P "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  scripts/services.sh stop kafka "$SERVICES" 2>/dev/null
  scripts/services.sh stop mosquitto "$SERVICES" 2>/dev/null
}
trap cleanup EXIT

say "installing dependencies"
scripts/install-deps.sh

say "building ($PRESET preset)"
cmake --preset "$PRESET" > /dev/null
cmake --build --preset "$PRESET" --target tributary tributary-frame-send

rm -rf "$DEMO"; mkdir -p "$DEMO"
say "starting Kafka (KRaft, from the official jars) and Mosquitto"
scripts/services.sh start kafka "$SERVICES"
scripts/services.sh start mosquitto "$SERVICES"
# shellcheck disable=SC1091
. "$SERVICES/kafka.env"
# shellcheck disable=SC1091
. "$SERVICES/mosquitto.env"

say "starting Tributary"
sed -e "s/@KAFKA_BOOTSTRAP@/$KAFKA_BOOTSTRAP/" -e "s|@BUFFER_DIR@|$DEMO/buffer|" -e "s|@STAGE@|$DEMO/stage|" \
  -e "s|@MQTT_BROKER@|tcp://$MQTT_HOST:$MQTT_PORT|" \
  scripts/demo.yaml > "$DEMO/tributary.yaml"
"$BIN" check "$DEMO/tributary.yaml"
"$BIN" run -c "$DEMO/tributary.yaml" 2> "$DEMO/tributary.log" &
PIDS+=($!)
port_of() {
  for _ in $(seq 1 100); do
    line=$(grep -m1 "msg=listening source=$1 " "$DEMO/tributary.log" || true)
    [ -n "$line" ] && { sed -E 's/.* address=[^ ]*:([0-9]+).*/\1/' <<< "$line"; return; }
    sleep 0.1
  done
  echo "tributary did not start; its log:" >&2; cat "$DEMO/tributary.log" >&2; exit 1
}
HTTP_PORT=$(port_of api)
UDP_PORT=$(port_of meters)
FRAME_PORT=$(port_of devices)
for _ in $(seq 1 100); do grep -q 'msg="mqtt subscribed" source=plant' "$DEMO/tributary.log" && break; sleep 0.1; done
echo "HTTP on 127.0.0.1:$HTTP_PORT, UDP on 127.0.0.1:$UDP_PORT, frames on 127.0.0.1:$FRAME_PORT," \
  "MQTT bridged from $MQTT_HOST:$MQTT_PORT (log: $DEMO/tributary.log)"

# One consumer per topic, started before anything is sent. A topic only exists once its
# first record was produced, so each consumer retries until its topic is there. Each writes
# its own file: kcat writes a record in pieces, so consumers sharing one file mixed lines.
for topic in demo.orders demo.tickets demo.meters demo.devices demo.plant.north; do
  : > "$DEMO/records.$topic.txt"
  (
    for _ in $(seq 1 120); do
      kcat -b "$KAFKA_BOOTSTRAP" -C -t "$topic" -o beginning -u -q \
        -f 'topic=%t partition=%p offset=%o key=%k value=%s\n    headers: %h\n' \
        >> "$DEMO/records.$topic.txt" 2>> "$DEMO/kcat.log" && break
      sleep 0.5
    done
  ) &
  PIDS+=($!)
done
tail -q -n +1 -f "$DEMO"/records.*.txt &
PIDS+=($!)

say "sending events"
post() {  # prints request and answer as one line, so it does not interleave with records
  local route="$1"; shift
  local answer
  answer=$(curl -sS -X POST "http://127.0.0.1:$HTTP_PORT/v1/events/$route" \
    -w ' (HTTP %{http_code})' "$@" | tr -d '\n')
  printf 'POST /v1/events/%s -> %s\n' "$route" "$answer"
}
post orders -H 'X-Order-Id: order-1001' -H 'Content-Type: application/json' \
  -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
  --data '{"order":1001,"total":42.5}'
post orders -H 'X-Order-Id: order-1002' -H 'Content-Type: application/json' \
  --data '{"order":1002,"total":7}'
post tickets -H 'Content-Type: text/plain' --data 'printer on floor 3 is out of toner'
for reading in 'meter-7 kwh=1532.4' 'meter-7 kwh=1532.9' 'meter-9 kwh=88.1'; do
  printf '%s' "$reading" > "/dev/udp/127.0.0.1/$UDP_PORT"
  echo "UDP datagram -> '$reading'"
done
"build/$PRESET/firmware-bridge/tributary-frame-send" 127.0.0.1 "$FRAME_PORT" 2 meter-17 1
for rpm in 1450 1462; do
  mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t plant/north/pump-1/telemetry -m "{\"rpm\":$rpm}"
  echo "MQTT plant/north/pump-1/telemetry (QoS 1) -> {\"rpm\":$rpm}"
done
say "bad input gets a specific answer"
post no-such-route --data 'x'
head -c 2000000 /dev/zero | tr '\0' 'x' > "$DEMO/big.bin"
post orders --data-binary "@$DEMO/big.bin"

say "waiting for all records to arrive in Kafka"
expected=10
for _ in $(seq 1 300); do
  [ "$(cat "$DEMO"/records.*.txt 2>/dev/null | grep -c '^topic=' || true)" -ge "$expected" ] && break
  sleep 0.1
done
got=$(cat "$DEMO"/records.*.txt | grep -c '^topic=' || true)

say "stopping"
kill "${PIDS[0]}"; wait "${PIDS[0]}" || true; PIDS=("${PIDS[@]:1}")
tail -n 4 "$DEMO/tributary.log"
if [ "$got" -ge "$expected" ]; then
  say "demo done: $got of $expected events arrived in Kafka"
else
  say "demo FAILED: only $got of $expected events arrived in Kafka (see $DEMO)"; exit 1
fi
