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
    finally:
        await admin.close()
