"""`python -m bench [run|soak|profile] [options]`; `python -m bench --help` for the options.

Needs the local stack (`bash deploy/local/stack.sh up`). Every command prints the machine's cores
and versions, a table, and writes bench/results/<run|soak|profile>.json (`--json PATH` copies it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bench import cleanup, full, profile, soak
from bench.config import ROOT, Endpoints
from bench.workload import parse_mix, supported

DEFAULT_MIX = "account.create=0.1,person.create=0.3,list.attach=0.2,account.get=0.4"  # the mix


def _common(p: argparse.ArgumentParser, commands: int, mix: str) -> None:
    p.add_argument("--commands", type=int, default=commands, help="commands in the measured run")
    p.add_argument("--mix", default=mix, help="type=weight,...; types without a handler are skipped")
    p.add_argument("--inflight", type=int, default=200,
                   help="closed loop: commands published and not yet answered (above the service's prefetch)")
    p.add_argument("--accounts", type=int, default=200, help="accounts seeded for account.get")
    p.add_argument("--json", type=Path, default=None, help="also write the JSON report here")
    p.add_argument("--src", type=Path, default=None, help="run the service from this source tree")
    p.add_argument("--at", metavar="REV", default=None,
                   help="run the service from a snapshot of this git revision (e.g. HEAD), not the work tree")
    p.add_argument("--max-seconds", type=float, default=1800,
                   help="the whole command stops (and stops what it started) after this long")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd")
    run = sub.add_parser("run", help="throughput, latency, stage ceilings, FastStream peer (default)")
    _common(run, 600, DEFAULT_MIX)
    run.add_argument("--rate", type=float, default=0.0,
                     help="0: closed loop as fast as possible, then open loop at half of it; "
                          ">0: open loop at this rate only")
    run.add_argument("--warmup", type=int, default=50)
    run.add_argument("--open-seconds", type=float, default=15.0, help="length of the half-max open-loop run")
    run.add_argument("--type-commands", type=int, default=40,
                     help="account.create-only runs (ours and the peer); account.get-only runs get 10x")
    run.add_argument("--ceiling-commands", type=int, default=3000)
    run.add_argument("--mongo-commands", type=int, default=500, help="commands in the MongoDB ceilings")
    run.add_argument("--no-peer", action="store_true")
    run.add_argument("--no-ceilings", action="store_true", help="skip the server ceilings (CPU ones stay)")
    s = sub.add_parser("soak", help="consumer RSS growth over a long run")
    _common(s, 12000, "account.create=0.005,account.get=0.995")
    s.add_argument("--warmup", type=int, default=1000)
    s.add_argument("--chunk", type=int, default=1500, help="RSS and throughput are sampled per chunk")
    sub.add_parser("clean", help="remove bench queues, exchanges, topics and databases left by killed runs")
    pr = sub.add_parser("profile", help="the service under pyinstrument (and/or py-spy) during a load run")
    _common(pr, 1500, DEFAULT_MIX)
    pr.add_argument("--warmup", type=int, default=50)
    pr.add_argument("--tool", choices=("pyinstrument", "py-spy", "both"), default="both")
    return p


def _snapshot(rev: str) -> Path:
    """A committed tree, outside the work tree: measures it while someone edits the files."""
    dest = Path(tempfile.mkdtemp(prefix="bench-src-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


async def _clean() -> None:
    ep = Endpoints.from_settings()
    for names in await cleanup.leftovers(ep):
        print(f"removing {names.prefix} / {names.database}")
        await cleanup.remove(ep, names)


def handled_types(src: Path | None) -> set[str]:
    """`consumers.dispatch.HANDLERS` of the code that will run (a snapshot's, with --at-head)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in (src, ROOT) if p))
    out = subprocess.run([sys.executable, "-c", "import json; from consumers.dispatch import HANDLERS; "
                          "print(json.dumps(sorted(HANDLERS)))"], env=env, capture_output=True, text=True,
                         check=True).stdout
    return set(json.loads(out))


def main(argv: list[str] | None = None) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows in logs
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "soak", "profile", "clean", "-h", "--help"):
        argv.insert(0, "run")  # `python -m bench --commands 100` means the default run
    args = parser().parse_args(argv)
    if args.cmd == "clean":
        asyncio.run(_clean())
        return
    src = _snapshot(args.at) if args.at else args.src
    mix, skipped = supported(parse_mix(args.mix), handled_types(src))
    asyncio.run(_bounded(_job(args, mix, skipped, src), args.max_seconds))


async def _bounded(job: Coroutine[Any, Any, None], seconds: float) -> None:
    async with asyncio.timeout(seconds):  # a benchmark stops by itself, whatever the servers do
        await job


def _job(args: argparse.Namespace, mix: dict[str, float], skipped: list[str],
         src: Path | None) -> Coroutine[Any, Any, None]:
    if args.cmd == "run":
        o = full.Options(commands=args.commands, mix=mix, skipped=skipped, rate=args.rate,
                         inflight=args.inflight, warmup=args.warmup, accounts=args.accounts,
                         open_seconds=args.open_seconds, type_commands=args.type_commands,
                         ceiling_commands=args.ceiling_commands, mongo_commands=args.mongo_commands,
                         peer=not args.no_peer, ceilings=not args.no_ceilings, src=src)
        return full.main(o, args.json)
    if args.cmd == "soak":
        return soak.main(soak.Plan(commands=args.commands, warmup=args.warmup, chunk=args.chunk, mix=mix,
                                   accounts=args.accounts, inflight=args.inflight, src=src), args.json)
    return profile.main(profile.Plan(commands=args.commands, warmup=args.warmup, mix=mix,
                                     accounts=args.accounts, inflight=args.inflight, tool=args.tool, src=src),
                        args.json)


if __name__ == "__main__":
    main()
