"""`python -m bench soak`: the consumer process's resident memory over a long run.

RSS (VmRSS from /proc/<pid>/status) is read after a warm-up (default 1,000 commands: imports,
pools, caches and pydantic's schema builds are done by then), after every chunk of commands, and
at the end; growth = end / start - 1. The chunks also show whether throughput drifts as the
inbox and outbox collections grow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.config import Endpoints
from bench.machine import describe, headline
from bench.session import ours_argv, running


@dataclass(frozen=True)
class Plan:
    commands: int
    warmup: int
    chunk: int
    mix: dict[str, float]
    accounts: int
    inflight: int
    src: Path | None


async def main(p: Plan, json_path: Path | None) -> None:
    started = time.perf_counter()
    ep = Endpoints.from_settings()
    machine = await describe(ep)
    print(headline(machine))
    print(f"soak: {p.warmup} warm-up + {p.commands} commands of {p.mix}, in chunks of {p.chunk}")
    samples: list[dict[str, Any]] = []
    async with running(ep, "soak", ours_argv(), p.mix, p.accounts, p.src) as s:
        warm = await s.run(s.workload.batch(p.warmup), mix=p.mix, inflight=p.inflight, label="warm-up")
        rss_start = s.proc.rss_kib()
        print(f"after warm-up ({warm.throughput} cmd/s): RSS {rss_start / 1024:.1f} MiB")
        done, completed, errors = 0, 0, 0
        soak_started = time.perf_counter()
        while done < p.commands:
            n = min(p.chunk, p.commands - done)
            r = await s.run(s.workload.batch(n), mix=p.mix, inflight=p.inflight, label="chunk")
            done += n
            completed += r.completed
            errors += r.errors
            rss = s.proc.rss_kib()
            samples.append({"commands": done, "rss_kib": rss, "cmd_per_s": r.throughput,
                            "p99_ms": r.latency.p99,
                            "elapsed_s": round(time.perf_counter() - soak_started, 1)})
            print(f"{done:>8} commands  {r.throughput:>7.1f} cmd/s  p99 {r.latency.p99:>8.1f} ms  "
                  f"RSS {rss / 1024:.1f} MiB")
        soak_s = time.perf_counter() - soak_started
        rss_end = s.proc.rss_kib()
    growth = rss_end / rss_start - 1
    verdict = "meets" if growth < 0.10 else "MISSES"
    print(f"\nRSS {rss_start / 1024:.1f} -> {rss_end / 1024:.1f} MiB over {completed} commands in "
          f"{soak_s:.0f} s ({completed / soak_s:.1f} cmd/s): growth {growth:+.1%}, "
          f"{verdict} the < 10% target; errors {errors}")
    path = report.save("soak", {
        "duration_s": round(time.perf_counter() - started, 1), "code": report.code_state(p.src),
        "machine": machine,
        "plan": {"commands": p.commands, "warmup": p.warmup, "chunk": p.chunk, "mix": p.mix},
        "rss_kib_start": rss_start, "rss_kib_end": rss_end, "growth": round(growth, 4),
        "completed": completed, "errors": errors, "soak_seconds": round(soak_s, 1),
        "cmd_per_s": round(completed / soak_s, 1), "warmup_cmd_per_s": warm.throughput, "samples": samples,
    }, json_path)
    print(f"written {path}")
