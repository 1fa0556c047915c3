"""One idempotent Kafka producer per process (`acks=all`, `enable_idempotence=True`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from contracts.errors import TransientError


@dataclass(frozen=True)
class Record:
    """One Kafka record to send."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class KafkaPublisher:
    """Sends batches of records and waits until every one is acknowledged by all in-sync replicas."""

    def __init__(self, bootstrap: str, client_id: str = "luna-admin-bus") -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=client_id,
                                          enable_idempotence=True, acks="all", linger_ms=2,
                                          request_timeout_ms=15000)

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise TransientError(f"Kafka unreachable: {exc}") from exc

    async def stop(self) -> None:
        await self._producer.stop()

    async def send_all(self, records: Sequence[Record]) -> None:
        """Send in order (per partition the producer keeps it) and wait for all acks."""
        try:
            futures = [await self._producer.send(r.topic, r.value, key=r.key, headers=r.headers)
                       for r in records]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise TransientError(f"Kafka: {exc}") from exc


async def ensure_topics(bootstrap: str, topics: Sequence[str], partitions: int = 3) -> None:
    """Create the topics the service writes to, if they are missing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, num_partitions=partitions, replication_factor=1)
                   for t in topics if t not in existing]
        if missing:
            # Another process may create one between our list and create: that is what we wanted.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        await _leaders_elected(admin, list(topics))
    finally:
        await admin.close()


async def _leaders_elected(admin: AIOKafkaAdminClient, topics: list[str], timeout_s: float = 30.0) -> None:
    """Wait until every partition of `topics` has a leader. Right after creation a partition can
    briefly have none, and a reader that subscribes then may fail its first offset lookup
    (NotLeaderForPartition) and stall on that partition."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        described = await admin.describe_topics(topics)
        if all(t.get("error_code", 0) == 0 and t["partitions"]
               and all(p.get("leader", -1) >= 0 for p in t["partitions"]) for t in described):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"topics without leaders after {timeout_s} s: {topics}")
        await asyncio.sleep(0.1)  # polling the broker's metadata under a deadline
