"""The outbox relay: publishes outbox entries to Kafka in `seq` order, then marks them sent.

A crash between publish and mark re-sends on restart; the event ids are the same, so downstream
deduplication on `event_id` makes the re-send harmless. Nothing is marked sent before Kafka acked it.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from contracts.topology import Topology
from producers.kafka import KafkaPublisher, Record
from storage.lease import Lease
from storage.outbox import Outbox

log = structlog.get_logger("luna.relay")


class OutboxRelay:
    """Drains the outbox into Kafka; `wake()` makes it look at once instead of at the next poll."""

    def __init__(self, outbox: Outbox, publisher: KafkaPublisher, topo: Topology,
                 batch: int = 500, poll_s: float = 0.25, lease: Lease | None = None) -> None:
        """With a `lease`, only the relay holding it publishes (one per deployment)."""
        self._lease = lease
        self._renewed_at = -1e9
        self._leading = lease is None
        self._outbox = outbox
        self._publisher = publisher
        self._topo = topo
        self._batch = batch
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        """Publish one batch of pending entries; return how many were sent."""
        pending = await self._outbox.pending(self._batch)
        if not pending:
            return 0
        records = [Record(self._topo.topic(e.stream), e.key.encode(), e.value,
                          [(k, v.encode()) for k, v in e.headers]) for _, e in pending]
        await self._publisher.send_all(records)
        await self._outbox.mark_sent([doc_id for doc_id, _ in pending])
        self.sent += len(pending)
        return len(pending)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set, then drain what is left once more."""
        failures = 0
        while not stop.is_set():
            try:
                if not await self._lead():
                    await self._pause(stop, 1.0)
                    continue
                sent = await self.drain_once()
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("relay_failure", error=str(exc)[:500], attempt=failures)
                await self._pause(stop, min(10.0, 0.2 * 2 ** failures))
                continue
            if sent == 0:
                await self._pause(stop, self._poll_s)
        with contextlib.suppress(Exception):  # best effort at shutdown; the rest goes next start
            if self._leading:
                while await self.drain_once():
                    pass
            if self._lease is not None and self._leading:
                await self._lease.release()

    async def _lead(self) -> bool:
        """Hold (renew) the lease every few seconds; without a lease, always lead."""
        if self._lease is None:
            return True
        now = asyncio.get_running_loop().time()
        if now - self._renewed_at > 2.0:
            was = self._leading
            self._leading = await self._lease.hold()
            self._renewed_at = now
            if self._leading != was:
                log.info("relay_lease", leading=self._leading, owner=self._lease.owner)
        return self._leading

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
        self._wake.clear()
