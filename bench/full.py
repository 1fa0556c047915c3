"""`python -m bench`: stage ceilings, our pipeline (max throughput, then latency at half of it, then
account.get alone and account.create alone), the FastStream peer on account.create, and the targets."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from bench import report
from bench.ceilings import Ceiling, amqp, cpu, kafka, mongo
from bench.ceilings.mirror import written
from bench.config import Endpoints
from bench.machine import describe, headline
from bench.session import Session, ours_argv, peer_argv, running
from bench.stats import RunResult
from bench.workload import PASSWORD, SeedData, Workload


@dataclass(frozen=True)
class Options:
    commands: int
    mix: dict[str, float]
    skipped: list[str]
    rate: float
    inflight: int
    warmup: int
    accounts: int
    open_seconds: float
    type_commands: int  # account.get-only and account.create-only runs (and the peer's)
    ceiling_commands: int
    mongo_commands: int
    peer: bool
    ceilings: bool
    src: Path | None


async def stage_ceilings(ep: Endpoints, o: Options) -> tuple[list[Ceiling], float]:
    """The ceilings, and argon2's median seconds per hash."""
    def ids(n: int) -> list[str]:
        return [str(uuid.uuid4()) for _ in range(n)]

    # Bodies only (nothing reads these ids back), so made-up ids do for every type.
    accounts = SeedData(account_ids=ids(o.accounts))
    accounts.spread(accounts.account_ids[:10], ids(10), ids(100))  # as bench.seed
    commands = Workload(o.mix, accounts, f"ceil-{uuid.uuid4().hex[:6]}").batch(o.ceiling_commands)
    pw_hash = PasswordHasher().hash(PASSWORD)
    work = [written(cmd, pw_hash) for cmd in commands]
    seed_docs = [{"_id": a, "email": f"{a}@example.com", "email_lower": f"{a}@example.com",
                  "organization_name": "Bench Seed", "password_hash": pw_hash, "blocked": False,
                  "created_by": a, "create_time": None} for a in accounts.account_ids]
    argon, hash_s = cpu.argon2()
    out = [cpu.decode_validate(commands), argon]
    if o.ceilings:
        out += [await amqp.measure(ep, commands),
                await mongo.measure(ep, work[:o.mongo_commands], (), all_ops=False),
                await mongo.measure(ep, work[:o.mongo_commands], seed_docs, all_ops=True),
                await kafka.measure(ep, work, pipelined=True),
                await kafka.measure(ep, work[:o.mongo_commands], pipelined=False)]
    return out, hash_s


async def _ours(s: Session, o: Options) -> list[RunResult]:
    wl = s.workload
    await s.run(wl.batch(o.warmup), mix=o.mix, inflight=o.inflight, label="warm-up")
    headline_run = await s.run(wl.batch(o.commands), mix=o.mix, rate=o.rate, inflight=o.inflight,
                               label="ours: mix, max" if o.rate <= 0 else "ours: mix, open loop")
    runs = [headline_run]
    if o.rate <= 0:
        half = max(1.0, headline_run.throughput / 2)
        n_open = max(30, int(half * o.open_seconds))
        runs.append(await s.run(wl.batch(n_open), mix=o.mix, rate=half, label="ours: mix at half max"))
    for type_ in ("account.get", "account.create"):
        if type_ in o.mix or type_ == "account.create":
            n = o.type_commands if type_ == "account.create" else o.type_commands * 10
            runs.append(await s.run([wl.make(type_) for _ in range(n)], mix={type_: 1.0}, inflight=o.inflight,
                                    label=f"ours: {type_} only"))
    return runs


PEER = "peer (FastStream, concurrent): account.create only"
PEER_ORDERED = "peer (FastStream, ordered): account.create only"


async def _peer(ep: Endpoints, o: Options) -> list[RunResult]:
    mix = {"account.create": 1.0}
    runs = []
    for label, ordered in ((PEER, "0"), (PEER_ORDERED, "1")):
        env = {"BENCH_PEER_ORDERED": ordered}
        async with running(ep, "peer", peer_argv(), mix, accounts=1, extra_env=env) as s:
            warmup = max(3, o.warmup // 10)
            creates = [s.workload.make("account.create") for _ in range(warmup + o.type_commands)]
            await s.run(creates[o.type_commands:], mix=mix, label="warm-up")
            runs.append(await s.run(creates[:o.type_commands], mix=mix, inflight=o.inflight, label=label))
    return runs


def targets(ceilings: list[Ceiling], runs: list[RunResult], hash_s: float, o: Options) -> dict[str, Any]:
    by = {r.label: r for r in runs}
    official = [c for c in ceilings if c.official]
    lowest = min(official, key=lambda c: c.commands_per_s) if official else None
    head = runs[0]
    out: dict[str, Any] = {"headline_mix": o.mix, "skipped_types": o.skipped,
                           "headline_cmd_per_s": head.throughput}
    if lowest:
        out["lowest_ceiling"] = {"stage": lowest.stage, "cmd_per_s": lowest.commands_per_s}
        out["e2e_over_lowest_ceiling"] = round(head.throughput / lowest.commands_per_s, 4)
    half = by.get("ours: mix at half max")
    if half:
        out["p99_ms_at_half_max"] = half.latency.p99
        out["p99_ms_at_half_max_by_type"] = {k: v.p99 for k, v in half.by_type.items()}
    ours_c = by.get("ours: account.create only")
    for key, label in (("ours_over_peer_account_create", PEER),
                       ("ours_over_ordered_peer_account_create", PEER_ORDERED)):
        peer = by.get(label)
        if ours_c and peer:
            out[key] = round(ours_c.throughput / max(peer.throughput, 1e-9), 3)
    creates = round(head.completed * o.mix.get("account.create", 0))
    out["argon2_median_ms"] = round(hash_s * 1000, 1)
    out["argon2_share_of_headline_wall_time"] = round(creates * hash_s / max(head.seconds, 1e-9), 3)
    if ours_c:
        out["argon2_share_of_account_create_wall_time"] = round(
            ours_c.completed * hash_s / max(ours_c.seconds, 1e-9), 3)
    return out


def print_targets(t: dict[str, Any]) -> None:
    def verdict(ok: bool) -> str:
        return "meets" if ok else "MISSES"

    if "e2e_over_lowest_ceiling" in t:
        r = t["e2e_over_lowest_ceiling"]
        print(f"e2e {t['headline_cmd_per_s']} cmd/s = {r:.1%} of the lowest stage ceiling "
              f"({t['lowest_ceiling']['stage']}, {t['lowest_ceiling']['cmd_per_s']} cmd/s): "
              f"{verdict(r >= 0.5)} the >= 50% target")
    if "ours_over_peer_account_create" in t:
        r = t["ours_over_peer_account_create"]
        print(f"ours / FastStream peer (its default: concurrent, unordered) on account.create = {r:.2f}x: "
              f"{verdict(r >= 1.5)} the >= 1.5x target")
    if "ours_over_ordered_peer_account_create" in t:
        r = t["ours_over_ordered_peer_account_create"]
        print(f"ours / FastStream peer made one-at-a-time like ours = {r:.2f}x (for reference)")
    if "p99_ms_at_half_max" in t:
        p = t["p99_ms_at_half_max"]
        print(f"p99 at half of max throughput = {p} ms (by type {t['p99_ms_at_half_max_by_type']}): "
              f"{verdict(p < 50)} the < 50 ms target")
    print(f"argon2id: {t['argon2_median_ms']} ms per hash here; about "
          f"{t['argon2_share_of_headline_wall_time']:.0%} of the headline run's wall time"
          + (f", {t['argon2_share_of_account_create_wall_time']:.0%} of account.create-only"
             if "argon2_share_of_account_create_wall_time" in t else ""))


async def main(o: Options, json_path: Path | None) -> None:
    started = time.perf_counter()
    ep = Endpoints.from_settings()
    machine = await describe(ep)
    print(headline(machine))
    if o.skipped:
        print(f"skipped (no handler yet): {', '.join(o.skipped)}; mix used: {o.mix}")
    ceilings, hash_s = await stage_ceilings(ep, o)
    print(f"\n== stage ceilings ({o.ceiling_commands} commands of the mix; mongo {o.mongo_commands}) ==")
    print(report.ceilings_table(ceilings))
    async with running(ep, "ours", ours_argv(), o.mix, o.accounts, o.src) as s:
        runs = await _ours(s, o)
    if o.peer:
        runs += await _peer(ep, o)
    print("\n== end to end: publish -> result read from Kafka ==")
    print(report.runs_table(runs))
    t = targets(ceilings, runs, hash_s, o)
    print("\n== targets (issue #9) ==")
    print_targets(t)
    duration = round(time.perf_counter() - started, 1)
    path = report.save("bench", {
        "duration_s": duration, "code": report.code_state(o.src), "machine": machine,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(o).items()},
        "ceilings": [c.as_dict() for c in ceilings], "runs": [r.as_dict() for r in runs], "targets": t,
    }, json_path)
    print(f"\n{duration} s; written {path}")
