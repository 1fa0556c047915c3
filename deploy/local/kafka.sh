#!/usr/bin/env bash
# Local single-node Kafka (KRaft) for tests: install | start | stop | status.
# No Docker and no download site here, so the broker runs from jars that Maven
# resolves from kafka/pom.xml into a per-version cache outside the repo.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LUNA_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luna-admin-bus}"
RUN="${LUNA_STACK_RUN:-$CACHE/run}"
VERSION="${LUNA_KAFKA_VERSION:-4.4.0}"   # default must match kafka.version in kafka/pom.xml
PORT="${LUNA_KAFKA_PORT:-9092}"
CPORT="${LUNA_KAFKA_CONTROLLER_PORT:-9093}"
CLUSTER_ID="bHVuYS1hZG1pbi1idXMuaw"      # fixed, so re-formatting is a no-op
POM="$HERE/kafka/pom.xml"
HOME_DIR="$CACHE/kafka-$VERSION"
LIBS="$HOME_DIR/libs"
STATE="$RUN/kafka"
PIDFILE="$STATE/pid"
MARKER="$STATE/started-by-us"
LOG="$STATE/kafka.log"
READY_TIMEOUT=120
STOP_TIMEOUT=60

log() { echo "kafka: $*" >&2; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# PID recorded by us, only if that process is still our broker (guards against
# a recycled PID after a reboot or a crash).
our_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

cmd_install() {
  # The stamp holds the pom's hash: a changed dependency list re-resolves.
  local want; want="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$HOME_DIR/.complete" && "$(cat "$HOME_DIR/.complete")" == "$want" ]]; then
    log "kafka_2.13 $VERSION already installed in $LIBS"; return 0
  fi
  log "resolving kafka_2.13 $VERSION with Maven into $LIBS"
  mkdir -p "$HOME_DIR"
  local tmp; tmp="$(mktemp -d "$HOME_DIR/libs.tmp.XXXXXX")"
  # Output goes to a file (Maven 3.8 -q still prints stray colour codes); shown on failure.
  if ! mvn -B -q -ntp -f "$POM" -Dkafka.version="$VERSION" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$HOME_DIR/mvn.log" 2>&1; then
    cat "$HOME_DIR/mvn.log" >&2; rm -rf "$tmp"; exit 1
  fi
  # Swap in the finished folder only, so an interrupted run never looks complete.
  rm -f "$HOME_DIR/.complete"; rm -rf "$LIBS"; mv "$tmp" "$LIBS"
  echo "$want" >"$HOME_DIR/.complete"
  log "kafka_2.13 $VERSION installed in $LIBS"
}

# Writes server.properties from the template and formats the log dir once.
prepare() {
  # Test data only: a different Kafka version (a downgrade cannot read newer
  # metadata) starts from an empty, freshly formatted log dir.
  if [[ -f "$STATE/data/meta.properties" && "$(cat "$STATE/data/.luna-version" 2>/dev/null)" != "$VERSION" ]]; then
    log "data dir not formatted by kafka $VERSION; wiping $STATE/data"
    rm -rf "$STATE/data"
  fi
  mkdir -p "$STATE/data"
  sed -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CPORT|g" -e "s|@DATA_DIR@|$STATE/data|g" \
    "$HERE/kafka/server.properties.in" >"$STATE/server.properties"
  [[ -f "$STATE/data/meta.properties" ]] && return 0
  # The tool may move to org.apache.kafka.tools in a later release: try both.
  local cls
  for cls in kafka.tools.StorageTool org.apache.kafka.tools.StorageTool; do
    if java -cp "$LIBS/*" -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" \
        -Dkafka.logs.dir="$STATE" "$cls" format --ignore-formatted \
        -t "$CLUSTER_ID" -c "$STATE/server.properties" >"$STATE/format.log" 2>&1; then
      echo "$VERSION" >"$STATE/data/.luna-version"; return 0
    fi
    grep -q 'Could not find or load main class' "$STATE/format.log" || break
  done
  cat "$STATE/format.log" >&2; exit 1
}

cmd_start() {
  if port_open "$PORT"; then
    log "port $PORT already answers; using that broker"
    return 0
  fi
  cmd_install
  prepare
  rm -f "$MARKER"
  : >"$LOG"
  # setsid: the broker must outlive this shell and not get its signals;
  # nohup + exec chain keeps $! equal to the java PID.
  setsid nohup java -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" -Dkafka.logs.dir="$STATE" \
    -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  touch "$MARKER"
  local pid=$! deadline=$((SECONDS + READY_TIMEOUT))
  until grep -q 'Kafka Server started' "$LOG" && port_open "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker exited during startup; last log lines:"; tail -n 40 "$LOG" >&2
      rm -f "$MARKER" "$PIDFILE"; exit 1
    fi
    if (( SECONDS >= deadline )); then
      log "not ready after ${READY_TIMEOUT}s; last log lines:"; tail -n 40 "$LOG" >&2
      exit 1   # marker stays, so 'stop' can still clean up this PID
    fi
    sleep 0.5
  done
  log "started (pid $pid, port $PORT) in ${SECONDS}s"
}

cmd_stop() {
  if [[ ! -f "$MARKER" ]]; then
    log "not started by us; leaving it alone"
    return 0
  fi
  local pid
  if pid="$(our_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    log "stopped (pid $pid)"
  fi
  rm -f "$MARKER" "$PIDFILE"
}

cmd_status() {
  local pid
  if ! port_open "$PORT"; then echo "kafka: down"; return 3; fi
  if [[ -f "$MARKER" ]] && pid="$(our_pid)"; then
    echo "kafka: up (pid $pid, started by us)"
  else
    # Someone else's broker: ask the kernel who listens, for the record only.
    pid="$(ss -Htlnp "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)"
    echo "kafka: up (pid ${pid:-?}, external)"
  fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
