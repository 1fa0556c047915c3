"""A consumer stopped under load returns each unstarted message once, and nothing reaches the
delivery limit (aio-pika's QueueIterator, closed mid-message, re-subscribed and nacked the same
messages round and round until RabbitMQ dead-lettered them)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from consumers.subscription import Subscription
from service.settings import Settings

N = 300
LIMIT = 10


@pytest.fixture
async def connection(settings: Settings) -> AsyncIterator[AbstractRobustConnection]:
    conn = await aio_pika.connect_robust(settings.amqp.url.get_secret_value())
    async with conn:
        yield conn


async def _queues(channel: AbstractChannel) -> tuple[str, str]:
    name = f"t-sub-{uuid.uuid4().hex[:10]}"
    dead_x = await channel.declare_exchange(f"{name}.dead", aio_pika.ExchangeType.FANOUT, auto_delete=True)
    dead = await channel.declare_queue(f"{name}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
    await dead.bind(dead_x)
    await channel.declare_queue(name, durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": LIMIT, "x-dead-letter-exchange": dead_x.name})
    for i in range(N):
        await channel.default_exchange.publish(aio_pika.Message(str(i).encode()), routing_key=name)
    return name, dead.name


async def _drain(channel: AbstractChannel, name: str) -> list[Any]:
    queue = await channel.get_queue(name, ensure=False)
    got = []
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        got.append(message)
    return got


async def test_stop_mid_message_returns_the_rest_once(connection: AbstractRobustConnection) -> None:
    setup = await connection.channel()
    name, dlq = await _queues(setup)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=100)
    queue = await channel.get_queue(name, ensure=False)
    acked: list[bytes] = []
    stopping: asyncio.Task[None] | None = None
    stop_began = asyncio.Event()

    async def stop() -> None:
        stop_began.set()  # stop() then runs up to its basic.cancel in this same step
        await sub.stop()

    async with Subscription(queue) as sub:
        async for message in sub:
            if len(acked) == 20 and stopping is None:
                stopping = asyncio.create_task(stop())  # SIGTERM while a message is in hand
                await stop_began.wait()
            await message.ack()
            acked.append(message.body)
    assert stopping is not None
    await stopping
    assert len(acked) == 21  # the message in hand finished; no message was taken after the stop
    left = await _drain(setup, name)  # the unstarted ones are back already, the channel still open
    await channel.close()
    try:
        assert await _drain(setup, dlq) == []  # nothing dead-lettered
        assert len(acked) + len(left) == N
        assert {m.body for m in left}.isdisjoint(acked)
        # each message went back at most once: no loop of redeliveries
        assert max(int((m.headers or {}).get("x-delivery-count", 0)) for m in left) <= 1
    finally:
        for q in (name, dlq):
            await setup.queue_delete(q)
