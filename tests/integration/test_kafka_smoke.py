"""Pins what we rely on from Kafka + aiokafka: idempotent and transactional produce, consume back."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from service.settings import Settings


async def _read(bootstrap: str, topic: str, count: int, isolation: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                isolation_level=isolation, enable_auto_commit=False)
    await consumer.start()
    try:
        got: list[bytes] = []
        for _ in range(60):
            batch = await consumer.getmany(timeout_ms=500)
            got += [r.value for rs in batch.values() for r in rs]
            if len(got) >= count:
                break
        return got
    finally:
        await consumer.stop()


async def test_idempotent_producer_round_trip(settings: Settings) -> None:
    topic = f"{settings.prefix}.smoke-idem"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap,
                                enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, f"m{i}".encode(), key=b"k")
    finally:
        await producer.stop()
    assert await _read(settings.kafka.bootstrap, topic, 5, "read_uncommitted") == [
        f"m{i}".encode() for i in range(5)]


async def test_transactional_producer_commits_and_aborts(settings: Settings) -> None:
    topic = f"{settings.prefix}.smoke-txn"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap,
                                transactional_id=f"smoke-{uuid.uuid4()}")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, b"committed", key=b"k")
        await producer.begin_transaction()
        await producer.send(topic, b"aborted", key=b"k")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, b"committed-2", key=b"k")
    finally:
        await producer.stop()
    assert await _read(settings.kafka.bootstrap, topic, 2, "read_committed") == [b"committed", b"committed-2"]
