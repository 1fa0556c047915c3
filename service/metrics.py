"""Prometheus metrics: the contract of deploy/README.md ("Metric contract").

One registry per `Service` (several services run in one test process). Counters and the latency
histogram move as messages are handled; the gauges that describe shared state (queue depth, DLQ,
parking, outbox lag, task progress) are sampled by `Sampler` every few seconds, not on each scrape,
so a scrape never waits on a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog
from aio_pika.abc import AbstractConnection
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pymongo.asynchronous.database import AsyncDatabase

from contracts.topology import Topology
from storage.mongo import Doc

log = structlog.get_logger("luna.metrics")
BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The service's instruments, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.messages = Counter("luna_messages", "handled commands by type and outcome",
                                ["type", "outcome"], registry=r)
        self.handler_seconds = Histogram("luna_handler_seconds", "decode to ack of one command, seconds",
                                         ["type"], buckets=BUCKETS, registry=r)
        self.queue_depth = Gauge("luna_queue_depth", "messages ready in each queue", ["queue"], registry=r)
        self.outbox_lag = Gauge("luna_outbox_lag_seconds",
                                "age of the oldest outbox entry not yet published (0 when empty)", registry=r)
        self.dlq = Gauge("luna_dlq_messages", "dead-lettered messages waiting for replay", registry=r)
        self.parking = Gauge("luna_parking_messages", "messages in the parking queue", registry=r)
        self.task_progress = Gauge("luna_task_progress", "fraction done of a running task", ["task_id"],
                                   registry=r)
        self.ready = Gauge("luna_ready", "1 when /readyz answers 200, else 0", registry=r)

    def handled(self, type_: str, outcome: str, seconds: float) -> None:
        """One handled message (the consumer's `on_done`)."""
        self.messages.labels(type_, outcome).inc()
        self.handler_seconds.labels(type_).observe(seconds)


class Sampler:
    """Refreshes the shared-state gauges every `every_s` seconds until cancelled."""

    def __init__(self, metrics: Metrics, db: AsyncDatabase[Doc], conn: AbstractConnection | None,
                 queues: list[str], topo: Topology, every_s: float = 5.0) -> None:
        self._m = metrics
        self._db = db
        self._conn = conn
        self._queues = queues
        self._topo = topo
        self._every_s = every_s

    async def run(self, readiness: Callable[[], Awaitable[object]] | None = None) -> None:
        while True:
            for step in (self._depths, self._outbox, self._dead_letters, self._tasks):
                try:
                    await asyncio.wait_for(step(), timeout=self._every_s)
                except Exception as exc:  # a server being down must not stop the sampling
                    log.debug("sample_failed", step=step.__name__, error=str(exc))
            if readiness is not None:
                with contextlib.suppress(Exception):
                    await readiness()  # keeps luna_ready current between probes
            await asyncio.sleep(self._every_s)  # the sampling period

    async def _depths(self) -> None:
        if self._conn is None or self._conn.is_closed:
            return
        # A channel per round: a passive declare of a missing queue closes its channel.
        async with await self._conn.channel() as channel:
            for name in self._queues:
                q = await channel.declare_queue(name, passive=True)
                count = q.declaration_result.message_count or 0
                self._m.queue_depth.labels(name).set(count)
                if name == self._topo.parking_queue:
                    self._m.parking.set(count)

    async def _outbox(self) -> None:
        doc = await self._db.outbox.find_one({"sent": False}, sort=[("seq", 1)])
        # `seq` is the entry's creation time in nanoseconds (storage.outbox).
        self._m.outbox_lag.set(0.0 if doc is None else max(0.0, time.time() - int(doc["seq"]) / 1e9))

    async def _dead_letters(self) -> None:
        # The DLQ is drained into MongoDB at once (dlq.list reads it there): waiting = not replayed.
        self._m.dlq.set(await self._db.dead_letters.count_documents({"replayed_at": None}))

    async def _tasks(self) -> None:
        docs = await self._db.tasks.find({"status": "in_progress"}).to_list(1000)
        self._m.task_progress.clear()
        for d in docs:
            parts = d.get("parts") or 0
            done = len(d.get("part_order") or [])
            self._m.task_progress.labels(str(d["_id"])).set(min(done / parts, 1.0) if parts else 0.0)
