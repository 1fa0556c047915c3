"""`python -m bench profile`: the service under a profiler during a load run.

- pyinstrument (default): runs `luna-admin run` under `python -m pyinstrument`; samples the main
  thread (the event loop) every millisecond; writes bench/results/profile.html. It does not see the
  threads `asyncio.to_thread` runs argon2 on: their time shows up as the loop waiting.
- py-spy (`--tool py-spy` or `both`): attaches to the running service and samples every thread
  that is on CPU, so the argon2 threads get their share; prints its own top frames.
Both print the top 15 frames by self time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.config import RESULTS, Endpoints
from bench.machine import describe, headline
from bench.service_proc import VENV_BIN, luna_admin_argv
from bench.session import Session, running
from bench.stats import RunResult

PROJECT = ("consumers/", "producers/", "storage/", "service/", "contracts/")


def _idle(frame: str) -> bool:
    """The event loop waiting for I/O (epoll): time the service had nothing to do, not a cost."""
    name = frame.split(" ", 1)[0]
    return name in {"select", "EpollSelector.select", "epoll.poll", "poll"}


def _ours(frame: str) -> bool:
    """A frame of our packages, below the entry point (which holds every sample of the process)."""
    if frame.startswith(("run (", "_run (", "<module> (")) and "service/cli.py" in frame:
        return False
    return any(f"({p}" in frame or f"/{p}" in frame for p in PROJECT)


@dataclass(frozen=True)
class Plan:
    commands: int
    warmup: int
    mix: dict[str, float]
    accounts: int
    inflight: int
    tool: str  # pyinstrument | py-spy | both
    src: Path | None


async def _load(s: Session, p: Plan) -> RunResult:
    return await s.run(s.workload.batch(p.commands), mix=p.mix, inflight=p.inflight, label=f"{s.label} load")


Top = list[dict[str, Any]]


async def with_pyinstrument(ep: Endpoints, p: Plan) -> tuple[RunResult, Top, Top, float]:
    session_file = Path(tempfile.mkstemp(suffix=".pyisession")[1])
    argv = [sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session_file), "-i", "0.001",
            str(VENV_BIN / "luna-admin"), "run"]
    async with running(ep, "pyinstrument", argv, p.mix, p.accounts, p.src) as s:
        await s.run(s.workload.batch(p.warmup), mix=p.mix, inflight=p.inflight, label="warm-up")
        result = await _load(s, p)
    top, ours, seconds = _pyinstrument_report(session_file)
    return result, top, ours, seconds


def _pyinstrument_report(session_file: Path) -> tuple[Top, Top, float]:
    """Write profile.html; the top frames by self time, our functions by inclusive time, and the
    profiled seconds."""
    from pyinstrument.renderers import HTMLRenderer
    from pyinstrument.session import Session as PyiSession

    session = PyiSession.load(session_file)
    (RESULTS / "profile.html").write_text(HTMLRenderer().render(session))
    root = session.root_frame(trim_stem=False)
    self_times: dict[str, float] = {}
    inclusive: dict[str, float] = {}
    stack = [(root, frozenset[str]())] if root else []
    while stack:
        frame, above = stack.pop()
        if frame.is_synthetic:  # [self]/[await] leaves: already in their parent's total_self_time
            continue
        key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        self_times[key] = self_times.get(key, 0.0) + frame.total_self_time
        if _ours(key) and key not in above:  # a recursive call is counted once
            inclusive[key] = inclusive.get(key, 0.0) + frame.time
        stack.extend((child, above | {key}) for child in frame.children)
    session_file.unlink(missing_ok=True)
    total = root.time if root else None
    return _top(self_times, "s"), _top(inclusive, "s", idle=False, total=total), session.duration


def _top(counts: Mapping[str, float], unit: str, n: int = 15, idle: bool = True,
         total: float | None = None) -> list[dict[str, Any]]:
    """The n largest entries, with their share of all time and of the non-idle ("busy") time;
    `idle=True` puts the waiting time first as one line."""
    busy = {k: v for k, v in counts.items() if not _idle(k)}
    every = total or sum(counts.values()) or 1
    busy_total = sum(busy.values()) or 1
    ranked = sorted(busy.items(), key=lambda kv: kv[1], reverse=True)[:n]
    top = [{"frame": k, unit: round(v, 3), "share_of_all": round(v / every, 4),
            "share_of_busy": round(v / busy_total, 4)} for k, v in ranked]
    if idle:
        waiting = every - sum(busy.values())
        top.insert(0, {"frame": "<idle: event loop waiting in epoll>", unit: round(waiting, 3),
                       "share_of_all": round(waiting / every, 4), "share_of_busy": 0.0})
    return top


async def with_py_spy(ep: Endpoints, p: Plan) -> tuple[RunResult, Top, Top, dict[str, int]]:
    raw = Path(tempfile.mkstemp(suffix=".txt")[1])
    async with running(ep, "py-spy", luna_admin_argv(), p.mix, p.accounts, p.src) as s:
        await s.run(s.workload.batch(p.warmup), mix=p.mix, inflight=p.inflight, label="warm-up")
        spy = await asyncio.create_subprocess_exec(
            str(VENV_BIN / "py-spy"), "record", "--pid", str(s.proc.pid), "--format", "raw", "-o", str(raw),
            "--threads", "--function", "--rate", "200", "--nonblocking", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            result = await _load(s, p)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(spy.pid, signal.SIGINT)  # py-spy writes its file on SIGINT
            await asyncio.wait_for(spy.wait(), 30)
    top, ours, threads = _py_spy_report(raw)
    return result, top, ours, threads


def _py_spy_report(raw: Path) -> tuple[Top, Top, dict[str, int]]:
    """Collapsed stacks (`thread;frame;...;leaf count`) into top leaf frames, our functions by
    inclusive samples, and samples per thread."""
    frames: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        parts = stack.split(";")
        frames[parts[-1]] += int(count)
        for frame in {f for f in parts if _ours(f)}:
            ours[frame] += int(count)
        threads["argon2 (to_thread)" if "argon2" in stack else parts[0]] += int(count)
    raw.unlink(missing_ok=True)
    total = sum(frames.values())
    by_thread = dict(threads.most_common(8))
    return _top(frames, "samples"), _top(ours, "samples", idle=False, total=total), by_thread


def _print_top(title: str, top: list[dict[str, Any]], unit: str) -> None:
    print(f"\n== {title} ==")
    print(report.table(["frame", unit, "% of all", "% of busy"],
                       [(t["frame"][:110], t[unit], f"{t['share_of_all']:.1%}", f"{t['share_of_busy']:.1%}")
                        for t in top]))


async def main(p: Plan, json_path: Path | None) -> None:
    started = time.perf_counter()
    ep = Endpoints.from_settings()
    machine = await describe(ep)
    print(headline(machine))
    data: dict[str, Any] = {"code": report.code_state(p.src), "machine": machine,
                            "plan": {"commands": p.commands, "mix": p.mix, "tool": p.tool}}
    runs = []
    if p.tool in ("pyinstrument", "both"):
        run, top, ours, seconds = await with_pyinstrument(ep, p)
        runs.append(run)
        data["pyinstrument"] = {"seconds": round(seconds, 1), "top_self": top, "top_ours_inclusive": ours,
                                "html": "bench/results/profile.html"}
        _print_top("pyinstrument, main thread (event loop), top 15 frames by self time (s)", top, "s")
        _print_top("pyinstrument, our functions by inclusive time on the loop (s)", ours, "s")
    if p.tool in ("py-spy", "both"):
        run, top, ours, threads = await with_py_spy(ep, p)
        runs.append(run)
        data["py_spy"] = {"top_self": top, "top_ours_inclusive": ours, "on_cpu_samples_by_thread": threads}
        _print_top("py-spy, all threads while on CPU, top 15 frames by self samples", top, "samples")
        _print_top("py-spy, our functions by inclusive on-CPU samples", ours, "samples")
        print(f"on-CPU samples by thread: {threads}")
    print("\n" + report.runs_table(runs))
    data["runs"] = [r.as_dict() for r in runs]
    data["duration_s"] = round(time.perf_counter() - started, 1)
    print(f"\n{data['duration_s']} s; written {report.save('profile', data, json_path)}")
