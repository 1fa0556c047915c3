#!/usr/bin/env bash
# Local MongoDB-protocol server for tests: FerretDB v1 on PostgreSQL 15, managed as one unit "mongo".
# Usage: ferretdb.sh install|start|stop|status   (see /work/shared/LOCAL-STACK.md, section FerretDB)
set -euo pipefail

FERRETDB_VERSION=1.24.2
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LUNA_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luna-admin-bus}"
RUN="${LUNA_STACK_RUN:-$CACHE/run}"
BIN="$CACHE/ferretdb-$FERRETDB_VERSION/ferretdb"
DIR="$RUN/ferretdb"
PORT="${LUNA_MONGO_PORT:-27017}"
DEBUG_PORT="${LUNA_MONGO_DEBUG_PORT:-8089}"
PG_PORT=5432                  # the Debian cluster 15/main listens here
# FerretDB's own pool defaults to 50 PostgreSQL connections. Under many concurrent clients its
# metadata registry deadlocks when all 50 are taken (a goroutine holding the registry's write lock
# waits for a connection, while the holders of every connection wait for the registry's read
# lock): seen here with the reliability suite, every request then hangs. A pool larger than what
# the clients can ask for at once (LUNA_MONGO__MAX_POOL per process) keeps it out of that state.
PG_POOL=250
PG_MAX_CONNECTIONS=300
PG_URL="postgres://luna:luna@127.0.0.1:$PG_PORT/ferretdb?pool_max_conns=$PG_POOL"
NAME="mongo (ferretdb)"

log() { echo "[$NAME] $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pg_up() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
# Superuser SQL goes through the local socket as the postgres OS user (peer auth).
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# PID from our pid file, only if that process is still a ferretdb (guards against PID reuse).
our_pid() {
  local pid; pid="$(cat "$DIR/pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ferretdb ] && echo "$pid"
}
livez() {
  local url="http://127.0.0.1:$DEBUG_PORT/debug/livez"
  if command -v curl >/dev/null; then curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null
  else python3 -c 'import sys,urllib.request as u; sys.exit(u.urlopen(sys.argv[1], timeout=2).status != 200)' "$url" 2>/dev/null
  fi
}

install() {
  if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
    log "installing postgresql-15 (apt)"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq -o DPkg::Lock::Timeout=300 postgresql-15 >/dev/null   # other scripts may hold the lock
  fi
  [ -x "$BIN" ] && return 0
  # Built as a tool of our pinned module (deploy/local/ferretdb/go.mod). The module lacks the generated
  # build/version/version.txt, and version.go panics without it whenever the main package is FerretDB's
  # (`go install ...@v1.24.2`, upstream #2982, and, checked with Go 1.26, a tool build too: build info names
  # FerretDB as main module). The module cache is read-only (-overlay refuses it too), so build from a
  # copy that has the file, via -replace in a scratch copy of our go.mod; deps stay those of our go.sum.
  log "building FerretDB v$FERRETDB_VERSION (go build, first time only)"
  local out; out="$(dirname "$BIN")"; mkdir -p "$out"
  BUILD_TMP="$(mktemp -d "$out/build.XXXXXX")"; local tmp="$BUILD_TMP"
  trap 'rm -rf "$BUILD_TMP"' EXIT
  (
    cd "$HERE/ferretdb"
    go mod download github.com/FerretDB/FerretDB   # verified against our go.sum
    cp -r "$(go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)" "$tmp/src"
    chmod -R u+w "$tmp/src"
    echo "v$FERRETDB_VERSION" >"$tmp/src/build/version/version.txt"
    cp go.mod go.sum "$tmp/"
    go mod edit -modfile="$tmp/go.mod" -replace="github.com/FerretDB/FerretDB=$tmp/src"
    CGO_ENABLED=0 go build -modfile="$tmp/go.mod" -buildvcs=false -trimpath -tags ferretdb_no_sqlite \
      -o "$tmp/ferretdb" github.com/FerretDB/FerretDB/cmd/ferretdb
  )
  # The panic happens in an init(), so --version proves the binary starts.
  "$tmp/ferretdb" --version >/dev/null || { log "built binary does not start"; exit 1; }
  mv "$tmp/ferretdb" "$BIN"
}

start_postgres() {
  pg_up && return 0
  if ! pg_lsclusters -h 2>/dev/null | grep -q '^15 *main '; then
    log "creating PostgreSQL cluster 15/main"
    as_root pg_createcluster 15 main >/dev/null
  fi
  log "starting PostgreSQL 15/main"
  as_root pg_ctlcluster --skip-systemctl-redirect 15 main start -- -o "-c max_connections=$PG_MAX_CONNECTIONS"
  touch "$DIR/pg-started-by-us"
  for _ in $(seq 30); do pg_up && break; sleep 1; done
  pg_up || { log "PostgreSQL did not answer on 127.0.0.1:$PG_PORT"; exit 1; }
}

prepare_database() {   # idempotent; FerretDB needs a UTF8 database
  as_postgres psql -q -X -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'luna') THEN
    CREATE ROLE luna LOGIN CREATEDB PASSWORD 'luna';
  END IF;
END $$;
SQL
  if [ -z "$(as_postgres psql -X -tA -p "$PG_PORT" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'")" ]; then
    as_postgres createdb -p "$PG_PORT" -O luna -E UTF8 --locale=C -T template0 ferretdb
  fi
}

start() {
  mkdir -p "$DIR"
  if port_open "$PORT"; then log "127.0.0.1:$PORT already answers; not starting FerretDB ($(status))"; return 0; fi
  install
  start_postgres
  prepare_database
  mkdir -p "$DIR/state"
  # setsid: own session, so the caller's Ctrl-C / job end does not kill it; $! is ferretdb itself.
  setsid nohup "$BIN" --handler=postgresql --postgresql-url="$PG_URL" \
    --listen-addr="127.0.0.1:$PORT" --debug-addr="127.0.0.1:$DEBUG_PORT" --state-dir="$DIR/state" \
    --telemetry=disable --log-level=warn >"$DIR/ferretdb.log" 2>&1 </dev/null &   # fresh log per start
  echo $! >"$DIR/pid"
  touch "$DIR/started-by-us"   # written now, so `stop` also cleans up a start that failed below
  local deadline=$((SECONDS + 60))
  until livez; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
      log "FerretDB not ready on 127.0.0.1:$DEBUG_PORT/debug/livez; last log lines:"
      tail -n 40 "$DIR/ferretdb.log" >&2; exit 1
    fi
    sleep 0.3
  done
  log "up on 127.0.0.1:$PORT (pid $(cat "$DIR/pid"))"
}

stop() {
  if [ -f "$DIR/started-by-us" ]; then
    local pid
    if pid="$(our_pid)"; then
      log "stopping FerretDB (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/started-by-us" "$DIR/pid"
  fi
  if [ -f "$DIR/pg-started-by-us" ]; then
    log "stopping PostgreSQL 15/main (we started it)"
    as_root pg_ctlcluster --skip-systemctl-redirect 15 main stop || true
    rm -f "$DIR/pg-started-by-us"
  fi
}

status() {
  if ! port_open "$PORT"; then echo "$NAME: down"; return 3; fi
  local pid
  if [ -f "$DIR/started-by-us" ] && pid="$(our_pid)"; then
    echo "$NAME: up (pid $pid, started by us)"
  else
    pid="$(ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)" || true
    echo "$NAME: up (pid ${pid:-?}, external)"
  fi
}

case "${1:-}" in
  install|start|stop|status) "$1" ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
