#!/usr/bin/env bash
# Local RabbitMQ for tests: install | start | stop | status.
# Installs Debian's rabbitmq-server, then runs our own node (rabbit@localhost) with its config,
# data and logs under $RUN/rabbitmq, never the system service. Called by deploy/local/stack.sh.
set -euo pipefail

RABBITMQ_VERSION=3.10.8    # Debian 12's package; upstream part of the dpkg version
CACHE="${LUNA_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luna-admin-bus}"
RUN="${LUNA_STACK_RUN:-$CACHE/run}"
DIR="$RUN/rabbitmq"
PORT="${LUNA_RABBITMQ_PORT:-5672}"
MGMT_PORT=15672
NODE=rabbit@localhost      # the hostname may not resolve; localhost always does
# The /usr/sbin wrappers re-exec as user "rabbitmq", who can neither read $DIR (under /root)
# nor our cookie. The real scripts run as the caller, so server and CLI share $HOME/.erlang.cookie.
BIN=/usr/lib/rabbitmq/bin

log() { echo "rabbitmq: $*" >&2; }
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
# A recorded pid may be stale and reused by an unrelated process: check what it runs before acting.
is_proc() { [[ -n "${1:-}" && "$(ps -o comm= -p "$1" 2>/dev/null)" == "$2" ]]; }
listener_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true; }
erl_pids() { pgrep -x 'beam.smp|epmd' | sort || true; }   # listing only; we kill by pid

installed() {
  dpkg -s rabbitmq-server 2>/dev/null | grep -q "^Status: install ok installed" &&
    dpkg -s rabbitmq-server | grep -q "^Version: $RABBITMQ_VERSION-"
}

cmd_install() {
  if installed; then log "$RABBITMQ_VERSION already installed"; return 0; fi
  # The apt lists may be absent or stale on a fresh image; refresh only then (costs ~10 s).
  if ! apt-cache show rabbitmq-server 2>/dev/null | grep -q "^Version: $RABBITMQ_VERSION-"; then
    apt-get update -qq
  fi
  # postinst would start the system service; a policy-rc.d exiting 101 forbids that. These images
  # already ship one: only add (and later remove) ours if there is none.
  local own_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local before; before="$(erl_pids)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rabbitmq-server \
    >"${TMPDIR:-/tmp}/luna-rabbitmq-apt.log" 2>&1 \
    || { tail -n 40 "${TMPDIR:-/tmp}/luna-rabbitmq-apt.log" >&2; [[ -z $own_policy ]] || rm -f /usr/sbin/policy-rc.d; exit 1; }
  [[ -z $own_policy ]] || rm -f /usr/sbin/policy-rc.d
  # Anything Erlang that appeared during the install is the package's doing (e.g. a node or epmd
  # it started) and would hold our ports: stop exactly those pids.
  local pid
  for pid in $(comm -13 <(echo "$before") <(erl_pids)); do
    log "stopping pid $pid started by the package"; kill "$pid" 2>/dev/null || true
  done
  installed || { log "installed version is not $RABBITMQ_VERSION"; dpkg -s rabbitmq-server | grep ^Version >&2; exit 1; }
  log "installed $RABBITMQ_VERSION"
}

# Env vars (not /etc/rabbitmq) keep everything of our node under $DIR and leave the system alone.
node_env() {
  export RABBITMQ_NODENAME=$NODE HOME
  export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config"   # absent on purpose
  export RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf"        # absent: skip /etc's
  export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$DIR/mnesia" RABBITMQ_LOG_BASE="$DIR/log"
  export RABBITMQ_PID_FILE="$DIR/beam.pid" RABBITMQ_DIST_PORT=$((PORT + 20000))
  # No scheduler busy-waiting (2 cores shared with Kafka and FerretDB); Erlang distribution on loopback.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none -kernel inet_dist_use_interface {127,0,0,1}"
  export ERL_EPMD_ADDRESS=127.0.0.1 ERL_CRASH_DUMP="$DIR/erl_crash.dump"
}
# End an epmd we spawned, unless another Erlang node registered with it meanwhile.
end_epmd() {
  if is_proc "${1:-}" epmd && ! epmd -names 2>/dev/null | grep -q '^name '; then kill "$1" 2>/dev/null || true; fi
}
ctl() { "$BIN/rabbitmqctl" -q -n "$NODE" "$@"; }

write_config() {
  mkdir -p "$DIR/log" "$DIR/mnesia"
  cat > "$DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
log.console = false
EOF
  # Written directly: each rabbitmq-plugins call boots an Erlang VM.
  echo '[rabbitmq_management,rabbitmq_consistent_hash_exchange].' > "$DIR/enabled_plugins"
  # Server and CLI must share the cookie; create it ourselves so neither races to make its own.
  if [[ ! -s "$HOME/.erlang.cookie" ]]; then
    local c; c="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc A-Z)"   # no SIGPIPE under pipefail
    (umask 077; printf '%s' "${c:0:20}" > "$HOME/.erlang.cookie")
  fi
}

cmd_start() {
  if port_open "$PORT"; then log "a broker already answers on 127.0.0.1:$PORT, not starting"; return 0; fi
  installed || { log "not installed; run: $0 install"; exit 1; }
  node_env; write_config
  rm -f "$DIR/started-by-us" "$DIR/pid" "$DIR/beam.pid"
  # An epmd still alive from our earlier (crashed) start stays ours to end.
  local epmd_was_up=""
  if port_open 4369 && ! is_proc "$(cat "$DIR/epmd.pid" 2>/dev/null)" epmd; then epmd_was_up=1; rm -f "$DIR/epmd.pid"; fi
  # setsid: the node must outlive the caller's process group (CI jobs, Ctrl-C in a terminal).
  (cd "$DIR" && exec setsid nohup "$BIN/rabbitmq-server" >"$DIR/log/console.log" 2>&1 </dev/null) &
  local launcher=$! deadline=$((SECONDS + 120))
  until port_open "$PORT" && timeout 20 "$BIN/rabbitmqctl" -q -n "$NODE" await_startup --timeout 15 >/dev/null 2>&1; do
    if (( SECONDS >= deadline )) || ! pid_alive "$launcher"; then
      log "not ready (timeout or exited); last log lines:"
      tail -n 40 "$DIR/log/$NODE.log" "$DIR/log/console.log" >&2 2>/dev/null || true
      pid_alive "$launcher" && kill "$launcher" 2>/dev/null && sleep 2
      [[ -n $epmd_was_up ]] || end_epmd "$(listener_pid 4369)"
      exit 1
    fi
    sleep 1
  done
  # The server writes its own pid file: that is the beam.smp pid, whatever the launcher chain was.
  local pid; pid="$(cat "$DIR/beam.pid" 2>/dev/null || echo "$launcher")"
  echo "$pid" > "$DIR/pid"; touch "$DIR/started-by-us"
  # Our boot also spawned epmd (Erlang's port mapper) if none ran: note its pid so stop can end it.
  [[ -n $epmd_was_up ]] || listener_pid 4369 > "$DIR/epmd.pid"
  # Tests log in as luna/luna (guest works only from loopback). add_user is the only step that
  # is not idempotent by itself, hence the lookup.
  local users; users="$(ctl list_users)"
  awk '{print $1}' <<<"$users" | grep -qx luna || ctl add_user luna luna >/dev/null
  ctl set_user_tags luna administrator >/dev/null
  ctl set_permissions -p / luna '.*' '.*' '.*' >/dev/null
  log "up on 127.0.0.1:$PORT (management :$MGMT_PORT), pid $pid"
}

cmd_stop() {
  [[ -e "$DIR/started-by-us" ]] || { log "not started by us, leaving it alone"; return 0; }
  node_env
  local pid; pid="$(cat "$DIR/pid" 2>/dev/null || true)"
  if is_proc "$pid" beam.smp; then
    timeout 60 "$BIN/rabbitmqctl" -q -n "$NODE" shutdown >/dev/null 2>&1 || log "shutdown failed, killing pid $pid"
    local deadline=$((SECONDS + 30))
    while pid_alive "$pid" && (( SECONDS < deadline )); do sleep 0.5; done
    if pid_alive "$pid"; then kill "$pid" 2>/dev/null || true; sleep 2; kill -9 "$pid" 2>/dev/null || true; fi
  fi
  end_epmd "$(cat "$DIR/epmd.pid" 2>/dev/null || true)"
  rm -f "$DIR/started-by-us" "$DIR/pid" "$DIR/epmd.pid"
  log "stopped"
}

cmd_status() {
  local pid="" by=external
  if ! port_open "$PORT"; then echo "rabbitmq: down"; return 3; fi
  if [[ -e "$DIR/started-by-us" ]] && is_proc "$(cat "$DIR/pid" 2>/dev/null)" beam.smp; then
    pid="$(cat "$DIR/pid")"; by="started by us"
  else
    pid="$(listener_pid "$PORT")"
  fi
  echo "rabbitmq: up (pid ${pid:-?}, $by)"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
