#!/usr/bin/env bash
# The reference AsyncAPI parser (npm @asyncapi/parser, run by Node) for checking
# contracts/asyncapi.yaml: install | validate FILE.
# install: the locked tree of asyncapi/package-lock.json into a per-version cache outside the repo
#          ($LUNA_STACK_CACHE/asyncapi-<version>); a second call is a fast no-op.
# validate: installs if needed, then parses FILE; exits 1 when the parser reports an error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/asyncapi"
CACHE="${LUNA_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luna-admin-bus}"
# The one pin lives in package.json (exact version, and the lock file beside it).
VERSION="$(sed -n 's/.*"@asyncapi\/parser": *"\([^"]*\)".*/\1/p' "$SRC/package.json")"
DIR="$CACHE/asyncapi-$VERSION"

log() { echo "asyncapi: $*" >&2; }
need() { command -v "$1" >/dev/null || { log "$1 not found: install Node.js 18+ with npm"; exit 1; }; }
# The manifest and lock decide the tree: a changed lock (same parser version) re-installs.
want_stamp() { cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -d' ' -f1; }
installed() { [[ -f "$DIR/.complete" && "$(cat "$DIR/.complete")" == "$(want_stamp)" ]]; }

cmd_install() {
  [[ -n "$VERSION" ]] || { log "no @asyncapi/parser pin in $SRC/package.json"; exit 1; }
  if installed; then log "@asyncapi/parser $VERSION already installed in $DIR"; return 0; fi
  need node; need npm
  mkdir -p "$CACHE"
  # Tests may install from parallel processes: one installer at a time, the others then find it done.
  exec 9>"$CACHE/asyncapi.lock"; flock 9
  if installed; then log "@asyncapi/parser $VERSION already installed in $DIR"; return 0; fi
  log "installing @asyncapi/parser $VERSION into $DIR (npm ci)"
  local tmp; tmp="$(mktemp -d "$CACHE/asyncapi-$VERSION.tmp.XXXXXX")"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/.npmrc" "$tmp/"
  # npm ci installs exactly the lock; no install scripts are needed by this tree.
  if ! (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; exit 1
  fi
  rm -f "$tmp.log"
  # Swap in the finished folder only, so an interrupted run never looks complete.
  rm -rf "$DIR"; mv -T "$tmp" "$DIR"
  want_stamp >"$DIR/.complete"
  log "@asyncapi/parser $VERSION installed in $DIR"
}

cmd_validate() {
  local file="${1:-}"
  [[ -n "$file" && -f "$file" ]] || { echo "usage: $0 validate FILE" >&2; exit 2; }
  need node
  installed || cmd_install
  LUNA_ASYNCAPI_HOME="$DIR" node "$SRC/validate.mjs" "$file"
}

case "${1:-}" in
  install) cmd_install ;;
  validate) shift; cmd_validate "$@" ;;
  *) echo "usage: $0 install|validate FILE" >&2; exit 2 ;;
esac
