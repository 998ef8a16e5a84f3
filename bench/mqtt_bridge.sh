#!/usr/bin/env bash
# MQTT bridge into the ring (Kafka unreachable: acceptance only) against a bare Paho
# subscriber that only counts, in the same run, for QoS 0 and QoS 1, 200-byte payloads.
# Each subscriber first leaves a persistent session at the broker; COUNT messages are then
# published into it while it is away (the broker queues them), and the rate is how fast the
# subscriber takes the queue when it returns — so the publisher's speed does not enter.
# The bridge's count is what is in the ring (`tributary buffer inspect`), its time from the
# first record's ingestion time to the last one's (milliseconds, read from the ring after the
# run, so nothing watches the bridge closely while it runs). About a minute.
#
#   bench/mqtt_bridge.sh [COUNT] [CLIENTS] [fsync policy]
#
# PROCESSES (default 1) bridge processes share the subscription (share_group), each with its
# own buffer directory; QOS_LIST (default "0 1") picks the QoS levels. BENCH_DIR (default
# build/bench/mqtt-bridge) holds the broker's files and the buffer directories: on a tmpfs
# (/dev/shm) it shows what the bridge does when the ring's write costs least. STAGE (default
# 1, as the package's config ships; 0 under fsync always, which refuses a stage) gives each
# bridge a buffer.stage in /dev/shm (removed afterwards); STAGE=0 runs without.
# ROUNDS (default 3) rounds of bare subscriber then bridge per QoS: single runs on this kind
# of machine vary by 20% and more, so the median of the per-round ratios is the figure (the
# lower middle one for an even ROUNDS).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
COUNT="${1:-100000}"; CLIENTS="${2:-1}"; FSYNC="${3:-interval}"; ROUNDS="${ROUNDS:-3}"
PROCESSES="${PROCESSES:-1}"; QOS_LIST="${QOS_LIST:-0 1}"
STAGE="${STAGE:-$([ "$FSYNC" = always ] && echo 0 || echo 1)}"
cmake --preset release > /dev/null
cmake --build --preset release --target tributary tributary-load mqtt_count > /dev/null
B=build/release
W="${BENCH_DIR:-$ROOT/build/bench/mqtt-bridge}"
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
PIDS=()
trap 'rm -f /dev/shm/tributary-bench-stage-*; kill $MPID 2>/dev/null; [ "${#PIDS[@]}" -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null; true' EXIT
sleep 0.5
URI="tcp://127.0.0.1:$PORT"

publish() {  # QOS TOPIC_PREFIX
  "$B/tools/load/tributary-load" mqtt --target "127.0.0.1:$PORT" --mqtt-topic "$2/{key}/data" \
    --topic unused --log "$W/pub.log" --qos "$1" --count "$COUNT" --size 200 --connections 2 > /dev/null 2>&1
}

echo "mqtt_bridge: $COUNT messages of 200 bytes, bridge processes: $PROCESSES, clients each: $CLIENTS, fsync: $FSYNC, stage: $STAGE"
for QOS in $QOS_LIST; do
 ratios=()
 for ROUND in $(seq "$ROUNDS"); do
  "$B/bench/mqtt_count" "$URI" bench-bare "bare$QOS/+/data" "$QOS" prepare
  publish "$QOS" "bare$QOS"
  bare=$("$B/bench/mqtt_count" "$URI" bench-bare "bare$QOS/+/data" "$QOS" "$COUNT" 120) || true  # short: said below
  echo "QoS $QOS round $ROUND bare subscriber: $bare"
  bare_rate=$(printf '%s\n' "$bare" | grep -o '[0-9]* messages/s' | cut -d' ' -f1)

  rm -rf "$W"/buffer-*
  # PROCESSES Tributary processes, each with its own buffer directory, in one share group
  # when there are several (the remedy for fsync: always: Paho runs one receive thread for
  # all the clients of a process).
  for P in $(seq "$PROCESSES"); do
    share=""; [ "$PROCESSES" -gt 1 ] && share="    share_group: bench"
    stage=""; [ "$STAGE" = 1 ] && stage=", stage: /dev/shm/tributary-bench-stage-$P"
    cat > "$W/tributary-$P.yaml" <<YAML
node_id: bench$P
buffer: {dir: $W/buffer-$P, fsync: $FSYNC, max_size: 8GiB$stage}
kafka: {brokers: "127.0.0.1:1"}
sources:
  - name: bridge
    type: mqtt
    broker: $URI
    client_id: bench-bridge-$P
    clients: $CLIENTS
$share
    subscriptions:
      - {filter: "bridge$QOS/{key}/data", qos: $QOS, topic: bench.mqtt, key: "{key}"}
YAML
  done
  run_bridges() {
    PIDS=()
    for P in $(seq "$PROCESSES"); do
      "$B/app/tributary" run -c "$W/tributary-$P.yaml" 2> "$W/tributary-$P.log" &
      PIDS+=($!)
    done
    for P in $(seq "$PROCESSES"); do
      for _ in $(seq 100); do [ "$(grep -c 'mqtt subscribed' "$W/tributary-$P.log")" -ge "$CLIENTS" ] && break; sleep 0.05; done
    done
  }
  stop_bridges() { kill -TERM "${PIDS[@]}"; wait "${PIDS[@]}" || true; PIDS=(); }
  run_bridges  # leaves the sessions
  stop_bridges
  publish "$QOS" "bridge$QOS"
  run_bridges
  # Wait until the segment files stopped growing for a second (checked twice a second: a
  # tighter watch would take CPU from the bridge), then read the span from the rings
  # themselves: the ingestion times of the first and last records, stamped when the callback
  # took each message, as the bare subscriber stamps its first and last.
  python3 - "$W" <<'PY'
import glob, os, sys, time
def size():
    return sum(os.stat(f).st_blocks for f in glob.glob(sys.argv[1] + "/buffer-*/*.seg"))
start = time.monotonic(); seen = -1; still = 0
while time.monotonic() - start < 600 and still < 2:
    s = size(); still = still + 1 if s == seen and s > 0 else 0; seen = s
    time.sleep(0.5)
PY
  read -r n span < <(for P in $(seq "$PROCESSES"); do "$B/app/tributary" buffer inspect "$W/buffer-$P" 2>/dev/null; done | python3 -c '
import re, sys, datetime
text = sys.stdin.read()
n = sum(int(x) for x in re.findall(r"^backlog: *([0-9]+)", text, re.M))
ms = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
times = [(ms(a), ms(b)) for a, b in re.findall(r"oldest unacknowledged event: (\S+)  newest event: (\S+)", text) if "-" not in (a, b)]
print(n, f"{max(b for _, b in times) - min(a for a, _ in times):.3f}" if times else 0)')
  stop_bridges
  bridge_rate=$(awk -v n="$n" -v d="$span" 'BEGIN { printf "%.0f", (d > 0 ? (n - 1) / d : 0) }')
  echo "QoS $QOS round $ROUND bridge into the ring: $n messages in $span s: $bridge_rate messages/s"
  grep -h 'mqtt source stopped' "$W"/tributary-*.log | sed 's/.*received=/  counters: received=/'
  ratios+=("$(awk -v a="$bridge_rate" -v b="${bare_rate:-0}" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }')")
 done
 median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }')
 echo "QoS $QOS bridge / bare, per round: ${ratios[*]} (%); median: ${median}%"
done
