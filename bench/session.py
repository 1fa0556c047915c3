"""One service process under load: start it with fresh names, seed, publish and read results,
then stop it and remove everything it declared."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import cleanup
from bench.config import Endpoints, Names
from bench.loadgen import Publisher, ResultReader, drive
from bench.seed import seed
from bench.service_proc import ServiceProcess, luna_admin_argv, service_env
from bench.stats import RunResult
from bench.workload import Command, Workload


@dataclass
class Session:
    """A running service with a publisher on its exchange and a reader on its results topic."""

    label: str
    names: Names
    proc: ServiceProcess
    publisher: Publisher
    reader: ResultReader
    workload: Workload

    async def run(self, commands: Sequence[Command], *, mix: dict[str, float], rate: float = 0.0,
                  inflight: int = 200, label: str | None = None) -> RunResult:
        """One measured run, with the service process's CPU time over it."""
        cpu_before = self.proc.cpu_seconds()
        result = await drive(self.publisher, self.reader, commands, label=label or self.label, mix=mix,
                             rate=rate, inflight=inflight)
        if not self.proc.alive():
            raise RuntimeError(f"{self.label} died during the run; its log ({self.proc.log_path}):\n"
                               f"{self.proc.log_tail()}")
        cpu = self.proc.cpu_seconds() - cpu_before
        result.service_cpu_ms_per_cmd = round(cpu * 1000 / max(1, result.completed), 2)
        result.service_cpu_util = round(cpu / max(result.seconds, 1e-9), 2)
        result.loadavg_1m_at_end = round(os.getloadavg()[0], 2)
        return result


def ours_argv() -> list[str]:
    return luna_admin_argv()


def peer_argv() -> list[str]:
    return [sys.executable, "-m", "bench.peer"]


@asynccontextmanager
async def running(ep: Endpoints, label: str, argv: Sequence[str], mix: dict[str, float], accounts: int,
                  src: Path | None = None, tag: str | None = None,
                  extra_env: dict[str, str] | None = None) -> AsyncIterator[Session]:
    names = Names.fresh(label, tag)
    topo = names.topology
    if label.startswith("peer"):  # the peer declares no topics; ours does at start-up
        await cleanup.create_topics(ep, topo.topics)
    env = service_env(ep, names, src) | (extra_env or {})
    proc = ServiceProcess(label, argv, env, topo.queue("accounts"))
    try:
        await proc.start(ep.amqp_url)
        async with Publisher(ep.amqp_url, topo.commands_exchange) as pub, \
                ResultReader(ep.kafka_bootstrap, topo.results_topic) as reader:
            data = await seed(ep, names, mix, pub, reader, accounts)
            yield Session(label, names, proc, pub, reader, Workload(mix, data, names.prefix))
    finally:
        code = await proc.stop()
        if code not in (0, -15):
            print(f"!! {label} exited with {code}; log {proc.log_path}:\n{proc.log_tail()}", file=sys.stderr)
        await cleanup.remove(ep, names)
