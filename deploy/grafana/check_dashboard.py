"""Checks the Grafana dashboards against the metric contract of deploy/README.md.

    python check_dashboard.py DASHBOARD.json... [--promql-rules OUT.yml]

Every panel query must use only contract metrics, and every contract metric must be on some panel,
so a renamed metric fails here instead of showing an empty panel. With --promql-rules, every query
(Grafana variables replaced by plain values) is written as a Prometheus recording rule, so that
`promtool check rules OUT.yml` parses the PromQL itself. Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# The contract with the service code (service/metrics): name -> Prometheus type.
# Keep in step with the table in deploy/README.md (tests/integration/test_deploy_manifests.py checks).
CONTRACT: dict[str, str] = {
    "luna_messages_total": "counter",
    "luna_handler_seconds": "histogram",
    "luna_queue_depth": "gauge",
    "luna_outbox_lag_seconds": "gauge",
    "luna_dlq_messages": "gauge",
    "luna_parking_messages": "gauge",
    "luna_task_progress": "gauge",
    "luna_ready": "gauge",
}
# The series a histogram is exposed as.
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("",), "gauge": ("",)}
SERIES = {name + sfx: name for name, kind in CONTRACT.items() for sfx in SUFFIXES[kind]}
# Grafana's built-in interval variables, then any other $var / ${var} (a label regex value).
GRAFANA_VARS = [(re.compile(r"\$__(rate_)?interval|\$\{__(rate_)?interval\}"), "5m"),
                (re.compile(r"\$__range|\$\{__range\}"), "1h"),
                (re.compile(r"\$\{?[A-Za-z_]\w*\}?"), ".*")]
METRIC = re.compile(r"\bluna_\w+")


def queries(dash: dict) -> list[tuple[str, str]]:
    """(where, expr) for every panel target (rows' nested panels included) and variable query."""
    out: list[tuple[str, str]] = []

    def walk(panels: list[dict]) -> None:
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                out.append((f"panel {p.get('id')} {p.get('title')!r} {t.get('refId')}", t.get("expr", "")))

    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            out.append((f"variable {v.get('name')}", q.get("query", "") if isinstance(q, dict) else q or ""))
    return out


def check(path: Path) -> tuple[list[str], list[str]]:
    """Returns (errors, PromQL expressions with Grafana variables substituted)."""
    errors: list[str] = []
    try:
        dash = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return [f"{path}: not JSON: {e}"], []
    if not dash.get("uid") or not dash.get("title"):
        errors.append(f"{path}: a dashboard needs a uid and a title")
    ids: set[int] = set()
    for p in dash.get("panels", []):
        if p.get("id") in ids:
            errors.append(f"{path}: duplicate panel id {p.get('id')}")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            errors.append(f"{path}: panel {p.get('id')} has no gridPos")
        if p.get("type") != "row" and not p.get("targets"):
            errors.append(f"{path}: panel {p.get('id')} {p.get('title')!r} has no query")
    used: set[str] = set()
    promql: list[str] = []
    for where, expr in queries(dash):
        names = METRIC.findall(expr)
        if not names:
            errors.append(f"{path}: {where}: the query uses no contract metric: {expr!r}")
        for n in names:
            if n in SERIES:
                used.add(SERIES[n])
            else:
                errors.append(f"{path}: {where}: {n} is not in the metric contract (deploy/README.md)")
        if where.startswith("panel"):
            for pattern, value in GRAFANA_VARS:
                expr = pattern.sub(value, expr)
            promql.append(expr)
    for name in sorted(set(CONTRACT) - used):
        errors.append(f"{path}: no panel shows {name}")
    return errors, promql


def main(argv: list[str]) -> int:
    rules_out = None
    if "--promql-rules" in argv:
        i = argv.index("--promql-rules")
        rules_out = Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    errors: list[str] = []
    exprs: list[str] = []
    for arg in argv:
        found, promql = check(Path(arg))
        errors += found
        exprs += promql
    if rules_out:
        # JSON is valid YAML: no YAML library needed to write the rules file.
        rules = [{"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)]
        group = {"name": "dashboard-queries", "rules": rules}
        rules_out.write_text(json.dumps({"groups": [group]}, indent=1))
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
