"""Printing figures as plain-text tables and saving them as small JSON files."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ceilings import Ceiling
from bench.config import RESULTS, ROOT
from bench.stats import RunResult


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[_fmt(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def ceilings_table(ceilings: Sequence[Ceiling]) -> str:
    return table(["stage", "cmd/s", "unit/s", "unit", "for target", "load1", "note"],
                 [(c.stage, c.commands_per_s, c.units_per_s, c.unit, "yes" if c.official else "info",
                   c.loadavg_1m_at_end, c.note) for c in ceilings])


def runs_table(runs: Sequence[RunResult]) -> str:
    rows: list[tuple[object, ...]] = []
    for r in runs:
        rows.append((r.label, r.mode, f"{r.completed}/{r.sent}", r.throughput, r.latency.p50, r.latency.p95,
                     r.latency.p99, r.latency.max, r.service_cpu_ms_per_cmd, r.service_cpu_util, r.errors,
                     r.loadavg_1m_at_end))
        if len(r.by_type) > 1:
            for type_, lat in r.by_type.items():
                blank = ("",) * 4
                rows.append((f"  {type_}", "", lat.count, "", lat.p50, lat.p95, lat.p99, lat.max, *blank))
    return table(["run", "offered load", "done/sent", "cmd/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
                  "svc cpu ms/cmd", "svc cores", "errors", "load1"], rows)


def code_state(src: Path | None = None) -> dict[str, Any]:
    """Which code was measured: the work tree (HEAD plus the listed uncommitted files) or a snapshot."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "consumers", "producers", "storage", "service", "contracts")
    return {"service_ran_from": str(src) if src else "work tree", "head": git("rev-parse", "--short", "HEAD"),
            "work_tree_dirty": bool(dirty), "dirty_files": dirty.splitlines()[:40]}


def save(kind: str, data: dict[str, Any], extra_path: Path | None = None) -> Path:
    """bench/results/<kind>.json (small, commit-able), plus `--json PATH` when given."""
    data = {"kind": kind, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()], **data}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{kind}.json"
    text = json.dumps(data, indent=1, default=str)
    path.write_text(text + "\n")
    if extra_path is not None:
        extra_path.write_text(text + "\n")
    return path
