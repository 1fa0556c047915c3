"""The relay drains a backlog larger than the MongoDB-protocol server's connection pool in one batch.

FerretDB v1 holds one PostgreSQL connection per operation of a bulk write until the bulk ends, so
marking 600 entries sent as 600 single updates (the relay's old way) waited forever for a
connection it held itself (the local pool has 250), and hung the server for every client.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from contracts.topology import Topology
from producers.kafka import KafkaPublisher
from producers.relay import OutboxRelay
from service.client import TopicReader
from service.settings import Settings
from storage.outbox import Outbox, OutboxEntry

BACKLOG = 600  # more than the 250 connections of deploy/local's FerretDB pool


async def test_one_batch_larger_than_the_server_pool_is_published_and_marked(
        settings: Settings, db: Any) -> None:
    topo = Topology(settings.prefix)
    outbox = Outbox(db)
    command_id = uuid.uuid4()
    entries = [OutboxEntry(event_id=uuid.uuid4(), stream="events", key=f"k{i}", value=b'{"n": %d}' % i,
                           headers=(("type", "backlog.test"),), command_id=command_id, kind="event")
               for i in range(BACKLOG)]
    await outbox.add(entries)
    publisher = KafkaPublisher(settings.kafka.bootstrap)
    await publisher.start()
    try:
        async with TopicReader(settings.kafka.bootstrap, topo.events_topic) as events:
            relay = OutboxRelay(outbox, publisher, topo, batch=BACKLOG)
            # Bounded: on the old bulk of single updates this never returned.
            assert await asyncio.wait_for(relay.drain_once(), timeout=120) == BACKLOG
            assert await db.outbox.count_documents({"sent": False}) == 0
            assert await db.outbox.count_documents({"sent": True, "sent_at": {"$exists": True}}) == BACKLOG
            seen = await events.wait_for(count=BACKLOG, timeout_s=60)
            assert sorted(r["value"]["n"] for r in seen) == list(range(BACKLOG))
            assert await asyncio.wait_for(relay.drain_once(), timeout=30) == 0
    finally:
        await publisher.stop()
