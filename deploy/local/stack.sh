#!/usr/bin/env bash
# The local stack: RabbitMQ, Kafka (KRaft) and FerretDB on PostgreSQL, real servers on loopback.
#   stack.sh up      install what is missing (in parallel, cached by version outside the repo),
#                    start what is not already answering, wait until each is ready
#   stack.sh down    stop only what `up` started (by recorded PID)
#   stack.sh status  one line per server; exit 3 if any is down
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE="${LUNA_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luna-admin-bus}"
RUN="${LUNA_STACK_RUN:-$CACHE/run}"
export LUNA_STACK_CACHE="$CACHE" LUNA_STACK_RUN="$RUN"
servers=(rabbitmq kafka ferretdb)

# Run "<server>.sh <action>" for every server at once; report each failure with its log tail.
parallel() {
  local action=$1 failed=0 pids=() s
  mkdir -p "$RUN"
  for s in "${servers[@]}"; do
    bash "$here/$s.sh" "$action" >"$RUN/$action-$s.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!servers[@]}"; do
    if wait "${pids[$i]}"; then
      tail -n 1 "$RUN/$action-${servers[$i]}.log"
    else
      failed=1
      echo "!! ${servers[$i]} $action failed; last lines of $RUN/$action-${servers[$i]}.log:" >&2
      tail -n 40 "$RUN/$action-${servers[$i]}.log" >&2
    fi
  done
  return $failed
}

case "${1:-}" in
  up)
    t0=$SECONDS
    parallel install
    echo "installed in $((SECONDS - t0)) s"
    parallel start
    echo "stack up in $((SECONDS - t0)) s"
    ;;
  down)
    for s in "${servers[@]}"; do bash "$here/$s.sh" stop || true; done
    ;;
  status)
    rc=0
    for s in "${servers[@]}"; do bash "$here/$s.sh" status || rc=3; done
    exit $rc
    ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
