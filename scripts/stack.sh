#!/usr/bin/env bash
# Vigie's local stack for development and integration tests: a single-node Apache Kafka
# (KRaft, combined broker+controller) and Prometheus Alertmanager, both bound to
# 127.0.0.1 only, with all state under .stack/ in the repository.
#
#   bash scripts/stack.sh start    # install what is missing, start, wait until ready
#   bash scripts/stack.sh stop [kafka|alertmanager]  # stop what this script started
#   bash scripts/stack.sh status   # one line per service
#   bash scripts/stack.sh kafka-start|kafka-stop   # Kafka only: a private broker for a test
#                                   # (with its own VIGIE_STACK_DIR and ports)
#
# VIGIE_KAFKA_SECURITY=1 (opt-in) adds two listeners next to PLAINTEXT: SASL_PLAINTEXT on
# VIGIE_KAFKA_SASL_PORT (default Kafka port + 2) and SASL_SSL on VIGIE_KAFKA_SASL_SSL_PORT
# (default Kafka port + 3), with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for the user
# `vigie` / password VIGIE_KAFKA_SASL_PASSWORD (default `vigie-secret`), and a test CA
# made with keytool: its certificate is $VIGIE_STACK_DIR/kafka/tls/ca.pem (the broker's
# certificate is for 127.0.0.1 and localhost).
#
# Ports (env): VIGIE_KAFKA_PORT (19092), VIGIE_KAFKA_CONTROLLER_PORT (19093),
# VIGIE_ALERTMANAGER_PORT (19094), VIGIE_ALERTMANAGER_WEBHOOK_PORT (19095, where the
# default receiver posts). VIGIE_STACK_DIR overrides the state directory,
# VIGIE_STACK_TIMEOUT (s, default 90) the readiness deadline, VIGIE_KAFKA_HEAP the heap.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${VIGIE_STACK_DIR:-$ROOT/.stack}"
KAFKA_PORT="${VIGIE_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${VIGIE_KAFKA_CONTROLLER_PORT:-19093}"
AM_PORT="${VIGIE_ALERTMANAGER_PORT:-19094}"
AM_WEBHOOK_PORT="${VIGIE_ALERTMANAGER_WEBHOOK_PORT:-19095}"
TIMEOUT="${VIGIE_STACK_TIMEOUT:-90}"
KAFKA_HEAP="${VIGIE_KAFKA_HEAP:--Xms256m -Xmx512m}"
SECURITY="${VIGIE_KAFKA_SECURITY:-0}"
SASL_PORT="${VIGIE_KAFKA_SASL_PORT:-$((KAFKA_PORT + 2))}"
SASL_SSL_PORT="${VIGIE_KAFKA_SASL_SSL_PORT:-$((KAFKA_PORT + 3))}"
SASL_PASSWORD="${VIGIE_KAFKA_SASL_PASSWORD:-vigie-secret}"

POM="$ROOT/scripts/kafka/pom.xml"
LIBS="$ROOT/scripts/kafka/target/libs"
LIBS_STAMP="$LIBS/.vigie-resolved"
KDIR="$STATE/kafka"
AMDIR="$STATE/alertmanager"
AM_BIN=/usr/bin/prometheus-alertmanager

log() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# --- process bookkeeping ------------------------------------------------------------

# pid_alive PIDFILE MARKER: true if the pid in PIDFILE is alive AND its command line
# contains MARKER (so a recycled pid is never mistaken for ours).
pid_alive() {
  local pidfile="$1" marker="$2" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

stop_pid() {
  local name="$1" pidfile="$2" marker="$3" pid i
  if ! pid_alive "$pidfile" "$marker"; then
    rm -f "$pidfile"
    log "$name: not running"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    pid_alive "$pidfile" "$marker" || break
    sleep 0.1
  done
  if pid_alive "$pidfile" "$marker"; then
    log "$name: still running after 30 s, sending SIGKILL to $pid"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
  log "$name: stopped (pid $pid)"
}

# Between fork and exec the child's cmdline is still this script's, so during start-up
# only the pid's existence is checked; the marker check guards stop/status/idempotency.
pid_exists() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

show_log_tail() {
  local f
  for f in "$@"; do
    [[ -s "$f" ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

# --- installation -------------------------------------------------------------------

ensure_apt_packages() {
  local missing=0 b
  for b in /usr/bin/prometheus-alertmanager /usr/bin/prometheus /usr/bin/chromium; do
    [[ -x "$b" ]] || missing=1
  done
  ((missing)) || return 0
  command -v apt-get >/dev/null || die "prometheus-alertmanager/prometheus/chromium are missing and apt-get is not available; install them by hand"
  local SUDO=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || die "installing apt packages needs root (or sudo)"
    SUDO=(sudo -n)
  fi
  log "installing prometheus-alertmanager prometheus chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends prometheus-alertmanager prometheus chromium
}

# The jars are resolved by Maven into scripts/kafka/target/libs. The stamp file is
# written after a successful copy; a pom newer than the stamp (e.g. a version or
# logging-binding change) means the directory is stale and is rebuilt from scratch,
# so no jar of an older resolution (say an SLF4J 2 binding next to slf4j-api 1.7)
# lingers on the classpath.
ensure_kafka_jars() {
  if [[ -f "$LIBS_STAMP" && ! "$POM" -nt "$LIBS_STAMP" ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed to resolve the Kafka jars"
  log "resolving Kafka jars with Maven into $LIBS"
  rm -rf "$LIBS"
  mkdir -p "$STATE"
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies -DoutputDirectory="$LIBS" >"$STATE/mvn.log" 2>&1; then
    show_log_tail "$STATE/mvn.log"
    die "mvn dependency:copy-dependencies failed (network or ~/.m2 cache?)"
  fi
  touch "$LIBS_STAMP"
}

# --- Kafka --------------------------------------------------------------------------

KAFKA_PID="$KDIR/kafka.pid"
KAFKA_MARKER="$KDIR/server.properties"

write_kafka_config() {
  mkdir -p "$KDIR/data" "$KDIR/logs"
  cat >"$KDIR/server.properties" <<EOF
# Generated by scripts/stack.sh — single-node KRaft, broker+controller, 127.0.0.1 only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KDIR/data
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=67108864
EOF
  if [[ "$SECURITY" == 1 ]]; then write_kafka_security_config; fi
  cat >"$KDIR/log4j2.properties" <<EOF
# Broker logs go to a file (the broker is silent without a backend on the classpath).
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $KDIR/logs/server.log
appender.file.filePattern = $KDIR/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

# A test CA and a broker certificate for 127.0.0.1/localhost, with keytool (Java 17).
make_kafka_tls() {
  local tls="$KDIR/tls" pw=vigie-test
  [[ -f "$tls/broker.p12" && -f "$tls/ca.pem" ]] && return 0
  rm -rf "$tls"
  mkdir -p "$tls"
  keytool -genkeypair -alias ca -keyalg RSA -keysize 2048 -dname CN=vigie-test-ca -ext bc:c -validity 3650 \
    -keystore "$tls/ca.p12" -storetype PKCS12 -storepass "$pw" >/dev/null 2>&1
  keytool -exportcert -alias ca -keystore "$tls/ca.p12" -storepass "$pw" -rfc -file "$tls/ca.pem" >/dev/null 2>&1
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -dname CN=127.0.0.1 -validity 3650 \
    -ext SAN=ip:127.0.0.1,dns:localhost -keystore "$tls/broker.p12" -storetype PKCS12 -storepass "$pw" >/dev/null 2>&1
  keytool -certreq -alias broker -keystore "$tls/broker.p12" -storepass "$pw" -file "$tls/broker.csr" >/dev/null 2>&1
  keytool -gencert -alias ca -keystore "$tls/ca.p12" -storepass "$pw" -infile "$tls/broker.csr" -outfile "$tls/broker.pem" \
    -ext SAN=ip:127.0.0.1,dns:localhost -rfc -validity 3650 >/dev/null 2>&1
  keytool -importcert -alias ca -file "$tls/ca.pem" -keystore "$tls/broker.p12" -storepass "$pw" -noprompt >/dev/null 2>&1
  keytool -importcert -alias broker -file "$tls/broker.pem" -keystore "$tls/broker.p12" -storepass "$pw" -noprompt >/dev/null 2>&1
  [[ -f "$tls/ca.pem" && -f "$tls/broker.pem" ]] || die "keytool could not make the test TLS certificates in $tls"
}

write_kafka_security_config() {
  make_kafka_tls
  local jaas_plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_vigie=\"$SASL_PASSWORD\";"
  local jaas_scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  local all="PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT,SASL_SSL://127.0.0.1:$SASL_SSL_PORT"
  sed -i \
    -e "s|^listeners=.*|listeners=$all|" \
    -e "s|^advertised.listeners=.*|advertised.listeners=$all|" \
    -e "s|^listener.security.protocol.map=.*|listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL|" \
    "$KDIR/server.properties"
  local l m
  {
    echo "# VIGIE_KAFKA_SECURITY=1: SASL (PLAIN, SCRAM) and TLS listeners for client tests."
    echo "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
    echo "ssl.keystore.location=$KDIR/tls/broker.p12"
    echo "ssl.keystore.type=PKCS12"
    echo "ssl.keystore.password=vigie-test"
    echo "ssl.key.password=vigie-test"
    for l in sasl_plaintext sasl_ssl; do
      echo "listener.name.$l.plain.sasl.jaas.config=$jaas_plain"
      for m in scram-sha-256 scram-sha-512; do echo "listener.name.$l.$m.sasl.jaas.config=$jaas_scram"; done
    done
  } >>"$KDIR/server.properties"
}

kafka_java() {
  # shellcheck disable=SC2086
  java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -Dkafka.logs.dir="$KDIR/logs" \
    -cp "$LIBS/*" "$@"
}

format_kafka_storage() {
  # The KRaft voter set recorded at format time holds the controller's address, so a
  # port change means a fresh log directory (this is dev/test state, never precious).
  local ports="$KAFKA_PORT $KAFKA_CONTROLLER_PORT security=$SECURITY"
  if [[ -f "$KDIR/data/meta.properties" ]]; then
    [[ "$(cat "$KDIR/ports" 2>/dev/null)" == "$ports" ]] && return 0
    log "kafka: ports changed to $ports, wiping $KDIR/data and formatting again"
    rm -rf "$KDIR/data"
    mkdir -p "$KDIR/data"
  fi
  local id
  id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$KDIR/logs/format.log" | tail -n 1)"
  [[ -n "$id" ]] || { show_log_tail "$KDIR/logs/format.log"; die "could not generate a Kafka cluster id"; }
  echo "$id" >"$KDIR/cluster.id"
  log "kafka: formatting storage (cluster id $id)"
  local scram=()
  if [[ "$SECURITY" == 1 ]]; then
    scram=(--add-scram "SCRAM-SHA-256=[name=vigie,password=$SASL_PASSWORD]" --add-scram "SCRAM-SHA-512=[name=vigie,password=$SASL_PASSWORD]")
  fi
  if ! kafka_java kafka.tools.StorageTool format --standalone -t "$id" -c "$KDIR/server.properties" "${scram[@]}" \
    >>"$KDIR/logs/format.log" 2>&1; then
    show_log_tail "$KDIR/logs/format.log"
    die "kafka storage format failed"
  fi
  echo "$ports" >"$KDIR/ports"
}

kafka_ready() {
  port_open "$KAFKA_PORT" || return 1
  grep -qF 'Kafka Server started' "$KDIR/logs/server.log" 2>/dev/null || return 1
  # A real client round trip (metadata) when the Node deps are installed.
  if [[ -d "$ROOT/node_modules/kafkajs" ]]; then
    (cd "$ROOT" && source scripts/node.sh && node scripts/kafka-ready.ts "127.0.0.1:$KAFKA_PORT" >>"$KDIR/logs/ready.log" 2>&1)
  fi
}

start_kafka() {
  if pid_alive "$KAFKA_PID" "$KAFKA_MARKER"; then
    log "kafka: already running (pid $(cat "$KAFKA_PID"), 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  if port_open "$KAFKA_PORT"; then
    die "port 127.0.0.1:$KAFKA_PORT is taken by a process this script did not start; stop it or set VIGIE_KAFKA_PORT"
  fi
  command -v java >/dev/null || die "java (17+) is needed to run Kafka"
  ensure_kafka_jars
  write_kafka_config
  format_kafka_storage
  local t0
  t0="$(now_ms)"
  : >"$KDIR/logs/server.log"
  log "kafka: starting on 127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT)"
  setsid nohup java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -Dkafka.logs.dir="$KDIR/logs" \
    -cp "$LIBS/*" kafka.Kafka "$KDIR/server.properties" \
    >"$KDIR/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$KAFKA_PID"
  local deadline=$((SECONDS + TIMEOUT))
  until kafka_ready; do
    if ! pid_exists "$KAFKA_PID"; then
      show_log_tail "$KDIR/logs/stdout.log" "$KDIR/logs/server.log"
      die "kafka exited during start-up (logs in $KDIR/logs)"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$KDIR/logs/stdout.log" "$KDIR/logs/server.log" "$KDIR/logs/ready.log"
      die "kafka not ready after ${TIMEOUT}s (logs in $KDIR/logs)"
    fi
    sleep 0.5
  done
  log "kafka: ready in $(($(now_ms) - t0)) ms (pid $(cat "$KAFKA_PID"))"
}

# --- Alertmanager -------------------------------------------------------------------

AM_PID="$AMDIR/alertmanager.pid"
AM_MARKER="$AMDIR/alertmanager.yml"

write_am_config() {
  mkdir -p "$AMDIR/data"
  cat >"$AMDIR/alertmanager.yml" <<EOF
# Generated by scripts/stack.sh — every alert goes to Vigie's webhook receiver.
route:
  receiver: vigie-webhook
  group_by: [alertname, faculty]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: vigie-webhook
    webhook_configs:
      - url: http://127.0.0.1:$AM_WEBHOOK_PORT/alertmanager
        send_resolved: true
EOF
}

am_ready() {
  port_open "$AM_PORT" || return 1
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null "http://127.0.0.1:$AM_PORT/-/ready"
  else
    local resp
    resp="$(exec 3<>"/dev/tcp/127.0.0.1/$AM_PORT" && printf 'GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && head -n 1 <&3)" || return 1
    [[ "$resp" == *" 200 "* ]]
  fi
}

start_alertmanager() {
  if pid_alive "$AM_PID" "$AM_MARKER"; then
    log "alertmanager: already running (pid $(cat "$AM_PID"), http://127.0.0.1:$AM_PORT)"
    return 0
  fi
  if port_open "$AM_PORT"; then
    die "port 127.0.0.1:$AM_PORT is taken by a process this script did not start; stop it or set VIGIE_ALERTMANAGER_PORT"
  fi
  [[ -x "$AM_BIN" ]] || die "$AM_BIN not found"
  write_am_config
  local t0
  t0="$(now_ms)"
  log "alertmanager: starting on 127.0.0.1:$AM_PORT (webhook -> 127.0.0.1:$AM_WEBHOOK_PORT/alertmanager)"
  setsid nohup "$AM_BIN" --config.file="$AMDIR/alertmanager.yml" --storage.path="$AMDIR/data" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
    --web.external-url="http://127.0.0.1:$AM_PORT" \
    >"$AMDIR/alertmanager.log" 2>&1 </dev/null &
  echo $! >"$AM_PID"
  local deadline=$((SECONDS + TIMEOUT))
  until am_ready; do
    if ! pid_exists "$AM_PID"; then
      show_log_tail "$AMDIR/alertmanager.log"
      die "alertmanager exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$AMDIR/alertmanager.log"
      die "alertmanager not ready after ${TIMEOUT}s"
    fi
    sleep 0.2
  done
  log "alertmanager: ready in $(($(now_ms) - t0)) ms (pid $(cat "$AM_PID"))"
}

# --- commands -----------------------------------------------------------------------

status_line() {
  local name="$1" pidfile="$2" marker="$3" port="$4"
  if pid_alive "$pidfile" "$marker"; then
    if port_open "$port"; then
      log "$name: running (pid $(cat "$pidfile"), 127.0.0.1:$port)"
    else
      log "$name: starting or unhealthy (pid $(cat "$pidfile"), 127.0.0.1:$port not answering)"
    fi
    return 0
  fi
  log "$name: stopped"
  return 1
}

cmd="${1:-}"
case "$cmd" in
  start)
    mkdir -p "$STATE"
    ensure_apt_packages
    start_kafka
    start_alertmanager
    ;;
  stop)
    # With names, only those services (scripts/test.sh stops just what it started).
    services=("${@:2}")
    ((${#services[@]})) || services=(alertmanager kafka)
    for s in "${services[@]}"; do
      case "$s" in
        alertmanager) stop_pid alertmanager "$AM_PID" "$AM_MARKER" ;;
        kafka) stop_pid kafka "$KAFKA_PID" "$KAFKA_MARKER" ;;
        *) echo "usage: bash scripts/stack.sh stop [kafka|alertmanager]..." >&2; exit 2 ;;
      esac
    done
    ;;
  kafka-start)
    mkdir -p "$STATE"
    start_kafka
    ;;
  kafka-stop)
    stop_pid kafka "$KAFKA_PID" "$KAFKA_MARKER"
    ;;
  status)
    rc=0
    status_line kafka "$KAFKA_PID" "$KAFKA_MARKER" "$KAFKA_PORT" || rc=1
    status_line alertmanager "$AM_PID" "$AM_MARKER" "$AM_PORT" || rc=1
    exit "$rc"
    ;;
  *)
    echo "usage: bash scripts/stack.sh start|stop [kafka|alertmanager]...|status|kafka-start|kafka-stop" >&2
    exit 2
    ;;
esac
