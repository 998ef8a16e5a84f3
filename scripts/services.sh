#!/usr/bin/env bash
# Starts and stops the real services the tests and the demo run against, each on a free
# loopback port, with data and logs under DIR:
#   - Apache Kafka, single node in KRaft mode, run with java from the official jars
#   - Mosquitto, from Debian's package
#
#   scripts/services.sh start  kafka|mosquitto DIR   # writes DIR/<service>.env
#   scripts/services.sh stop   kafka|mosquitto DIR
#   scripts/services.sh resume kafka DIR             # start a stopped Kafka again: same
#                                                    # port, same data (a broker restart)
#
# DIR/kafka.env holds KAFKA_BOOTSTRAP=127.0.0.1:PORT, and a SASL/PLAIN listener with one user
# (KAFKA_SASL_BOOTSTRAP, KAFKA_SASL_USER, KAFKA_SASL_PASSWORD); DIR/mosquitto.env holds
# MQTT_HOST and MQTT_PORT. `stop` is safe to call when nothing runs. KAFKA_PORT=N asks for
# that broker port (a test that points Tributary at a Kafka before starting it);
# KAFKA_JVM_OPTS the broker's heap and collector flags.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_JARS="${KAFKA_JARS:-$ROOT/build/kafka-jars}"
KAFKA_SASL_USER=tributary
KAFKA_SASL_PASSWORD=test-only-secret
START_TIMEOUT="${START_TIMEOUT:-90}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free loopback port found"
}

wait_for_port() {  # PORT PID SECONDS
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    kill -0 "$2" 2>/dev/null || return 1
    port_in_use "$1" && return 0
    sleep 0.2
  done
  return 1
}

stop_pid() {  # PIDFILE NAME
  [ -f "$1" ] || return 0
  local pid; pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$2 did not stop in 10s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$1"
  log "$2 stopped"
}

# The broker's heap and collector: small and single-threaded by default (fast to start,
# little memory, what the tests need). KAFKA_JVM_OPTS replaces them, e.g. to measure with
# another collector (bench/README.md, session 17).
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--Xms128m -Xmx512m -XX:+UseSerialGC}"

kafka_jvm() {  # DIR: the java command line, one word per line
  local opts; read -r -a opts <<< "$KAFKA_JVM_OPTS"
  jvm=(java "${opts[@]}" -Djava.awt.headless=true
       "-Dlog4j2.configurationFile=$1/log4j2.properties" -cp "$KAFKA_JARS/*")
}

launch_kafka() {  # DIR PORT: runs the broker of DIR (formatted) and waits for PORT
  local jvm; kafka_jvm "$1"
  setsid "${jvm[@]}" kafka.Kafka "$1/server.properties" >> "$1/stdout.log" 2>&1 < /dev/null &
  echo $! > "$1/kafka.pid"
  wait_for_port "$2" "$(cat "$1/kafka.pid")" "$START_TIMEOUT"
}

resume_kafka() {
  local dir="$1/kafka"
  [ -f "$dir/server.properties" ] || die "no Kafka was started in $1"
  stop_pid "$dir/kafka.pid" kafka
  local port
  port=$(sed -n 's|^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*|\1|p' "$dir/server.properties")
  local started; started=$(date +%s)
  # A restarted broker can fail where a fresh one would not (a port of its taken for a
  # moment by another process's outgoing connection, a JVM that dies starting): say why
  # and try again, up to three times, on the same ports and data.
  for attempt in 1 2 3; do
    if launch_kafka "$dir" "$port"; then
      echo "KAFKA_BOOTSTRAP=127.0.0.1:$port" > "$1/kafka.env"
      log "kafka back on 127.0.0.1:$port in $(( $(date +%s) - started ))s"
      return 0
    fi
    log "kafka did not come back (attempt $attempt); last lines of its logs:"
    tail -n 5 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
    stop_pid "$dir/kafka.pid" kafka
    sleep 2
  done
  die "kafka did not come back; see $dir/server.log"
}

start_kafka() {
  local dir="$1/kafka"
  compgen -G "$KAFKA_JARS/kafka_2.13-*.jar" >/dev/null ||
    die "no Kafka jars in $KAFKA_JARS; run scripts/install-deps.sh"
  command -v java >/dev/null || die "java not found; run scripts/install-deps.sh"
  stop_pid "$dir/kafka.pid" kafka
  local started; started=$(date +%s)
  for attempt in 1 2 3; do
    rm -rf "$dir"; mkdir -p "$dir/data"
    local port cport sport
    port=${KAFKA_PORT:-$(free_port)}; cport=$(free_port); sport=$(free_port)
    [ "$port" != "$cport" ] && [ "$sport" != "$port" ] && [ "$sport" != "$cport" ] || continue
    cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,SASL_PLAINTEXT://127.0.0.1:$sport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
# A SASL/PLAIN listener with one user, for the tests of kafka.security.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Record timestamps are the broker's append time, so end-to-end latency is measured to it.
log.message.timestamp.type=LogAppendTime
PROPS
    local jvm; kafka_jvm "$dir"
    cat > "$dir/log4j2.properties" <<LOG
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache
logger.apache.level = warn
LOG
    "${jvm[@]}" kafka.tools.StorageTool format -t "$("${jvm[@]}" kafka.tools.StorageTool random-uuid)" \
      -c "$dir/server.properties" > "$dir/format.log" 2>&1 || die "kafka storage format failed: $dir/format.log"
    if launch_kafka "$dir" "$port"; then
      printf 'KAFKA_BOOTSTRAP=127.0.0.1:%s\nKAFKA_SASL_BOOTSTRAP=127.0.0.1:%s\nKAFKA_SASL_USER=%s\nKAFKA_SASL_PASSWORD=%s\n' \
        "$port" "$sport" "$KAFKA_SASL_USER" "$KAFKA_SASL_PASSWORD" > "$1/kafka.env"
      log "kafka ready on 127.0.0.1:$port in $(( $(date +%s) - started ))s (logs: $dir)"
      return 0
    fi
    log "kafka did not come up (attempt $attempt); see $dir/server.log"
    stop_pid "$dir/kafka.pid" kafka
  done
  die "kafka failed to start"
}

start_mosquitto() {
  local dir="$1/mosquitto"
  command -v mosquitto >/dev/null || die "mosquitto not found; run scripts/install-deps.sh"
  stop_pid "$dir/mosquitto.pid" mosquitto
  for attempt in 1 2 3; do
    rm -rf "$dir"; mkdir -p "$dir"
    local port; port=$(free_port)
    # max_queued_messages: Mosquitto's default (1000) silently drops what a persistent
    # session should keep while its client is away; the bridge tests need more.
    cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
persistence true
persistence_location $dir/
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
CONF
    setsid mosquitto -c "$dir/mosquitto.conf" > "$dir/stdout.log" 2>&1 < /dev/null &
    echo $! > "$dir/mosquitto.pid"
    if wait_for_port "$port" "$(cat "$dir/mosquitto.pid")" 20; then
      printf 'MQTT_HOST=127.0.0.1\nMQTT_PORT=%s\n' "$port" > "$1/mosquitto.env"
      log "mosquitto ready on 127.0.0.1:$port (logs: $dir)"
      return 0
    fi
    log "mosquitto did not come up (attempt $attempt); see $dir/mosquitto.log"
    stop_pid "$dir/mosquitto.pid" mosquitto
  done
  die "mosquitto failed to start"
}

[ $# -eq 3 ] || die "usage: $0 start|stop kafka|mosquitto DIR"
action="$1"; service="$2"; mkdir -p "$3"; dir="$(cd "$3" && pwd)"
case "$action/$service" in
  start/kafka) start_kafka "$dir" ;;
  start/mosquitto) start_mosquitto "$dir" ;;
  stop/kafka) stop_pid "$dir/kafka/kafka.pid" kafka; rm -f "$dir/kafka.env" ;;
  stop/mosquitto) stop_pid "$dir/mosquitto/mosquitto.pid" mosquitto; rm -f "$dir/mosquitto.env" ;;
  resume/kafka) resume_kafka "$dir" ;;
  *) die "usage: $0 start|stop kafka|mosquitto DIR, or $0 resume kafka DIR" ;;
esac
