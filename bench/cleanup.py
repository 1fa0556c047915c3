"""Removes what a bench run declared: its queues, exchanges, topics and database. A bench run
leaves the shared servers as it found them (quorum queues and topics cost memory and disk)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterable
from typing import Any

import aio_pika
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from bench.config import Endpoints, Names
from producers.kafka import ensure_topics

RETRY_LEVELS = range(1, 11)  # settings allow up to 10 retry delays; deleting a missing one is a no-op


def queues_of(names: Names) -> list[str]:
    topo = names.topology
    return [*topo.command_queues, topo.parking_queue, topo.dead_letter_queue, topo.task_parts_queue,
            *(topo.retry_queue(n) for n in RETRY_LEVELS)]


def exchanges_of(names: Names) -> list[str]:
    topo = names.topology
    return [topo.commands_exchange, topo.unrouted_exchange, topo.dead_letter_exchange,
            *(topo.retry_exchange(n) for n in RETRY_LEVELS)]


async def remove(ep: Endpoints, names: Names, extra_queues: Iterable[str] = (),
                 extra_topics: Iterable[str] = (), timeout_s: float = 60.0) -> None:
    """Best effort, bounded in time: a name that was never declared is simply skipped, a server
    that does not answer is reported and left (its leftovers carry the `bench-` prefix)."""
    try:
        async with asyncio.timeout(timeout_s):
            await _remove(ep, names, extra_queues, extra_topics)
    except Exception as exc:  # cleanup must not hide the run's own result or error
        print(f"!! cleanup of {names.prefix} incomplete: {type(exc).__name__}: {exc}", file=sys.stderr)


async def _remove(ep: Endpoints, names: Names, extra_queues: Iterable[str],
                  extra_topics: Iterable[str]) -> None:
    conn = await aio_pika.connect(ep.amqp_url)
    try:
        for queue in [*queues_of(names), *extra_queues]:
            channel = await conn.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(queue)
            with contextlib.suppress(Exception):
                await channel.close()
        for exchange in exchanges_of(names):
            channel = await conn.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(exchange)
            with contextlib.suppress(Exception):
                await channel.close()
    finally:
        await conn.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=ep.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in [*names.topology.topics, *extra_topics] if t in existing]
        if doomed:
            with contextlib.suppress(Exception):
                await admin.delete_topics(doomed)
    finally:
        await admin.close()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ep.mongo_url)
    try:
        await client.drop_database(names.database)
    finally:
        await client.close()


async def create_topics(ep: Endpoints, topics: Iterable[str], partitions: int = 3) -> None:
    """Topics for the ceilings and the peer, laid out like the service's (3 partitions, RF 1),
    created the way the service creates its own (and ready: every partition has a leader)."""
    await ensure_topics(ep.kafka_bootstrap, list(topics), partitions)


async def leftovers(ep: Endpoints) -> list[Names]:
    """Bench names still on the servers (a run that was killed, or whose cleanup met a down
    server): found from topic and database names, which carry the same tag as the queues."""
    found: set[tuple[str, str]] = set()
    admin = AIOKafkaAdminClient(bootstrap_servers=ep.kafka_bootstrap)
    await admin.start()
    try:
        for topic in await admin.list_topics():
            if topic.startswith("bench-") and topic.count(".") == 1:
                prefix = topic.split(".")[0]
                found.add((prefix, prefix.replace("-", "_")))
    finally:
        await admin.close()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ep.mongo_url)
    try:
        for db in await client.list_database_names():
            if db.startswith("bench_"):
                found.add((db.replace("_", "-"), db))
    finally:
        await client.close()
    return [Names(prefix, database) for prefix, database in sorted(found)]
