"""The internal `task-parts` queue: part messages in, one `TaskWorker.run` each, one ack policy.

- done or skipped: ack; "again": the same message is queued at the tail (confirmed), then acked;
- a body that names no part (30000): parked with its reason, acked;
- anything else is transient: after a short pause the message is returned (nack with requeue). The
  quorum queue's delivery limit bounds that; past it RabbitMQ dead-letters the part to the DLQ.

The consumer takes one message at a time (prefetch 1), so parts spread over the workers and a
killed worker holds at most one part, which RabbitMQ then gives to another worker.
"""

from __future__ import annotations

import asyncio
import json
import time
from uuid import UUID

import structlog
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from consumers.outlets import Outlets
from consumers.subscription import Subscription, channel_lost
from consumers.task_work import BadPart, TaskWorker

log = structlog.get_logger("luna.tasks")
RETRY_PAUSE_S = 1.0


def part_body(task_id: UUID, part_id: UUID) -> bytes:
    return json.dumps({"task_id": str(task_id), "part_id": str(part_id)}).encode()


class AmqpPartQueue:
    """Publishes part messages to the `task-parts` queue (persistent, confirmed)."""

    def __init__(self, channel: AbstractChannel, queue: str) -> None:
        self._channel = channel
        self._queue = queue

    async def publish(self, task_id: UUID, part_ids: list[UUID]) -> None:
        for part_id in part_ids:
            await self._channel.default_exchange.publish(
                Message(part_body(task_id, part_id), message_id=str(part_id), content_type="application/json",
                        type="task.part", delivery_mode=DeliveryMode.PERSISTENT), routing_key=self._queue)


class PartConsumer:
    """Consumes the `task-parts` queue with a `TaskWorker`."""

    def __init__(self, worker: TaskWorker, parts: AmqpPartQueue, outlets: Outlets) -> None:
        self._worker = worker
        self._parts = parts
        self._outlets = outlets

    async def consume(self, queue: AbstractQueue) -> None:
        async with Subscription(queue) as parts:
            async for message in parts:
                try:
                    await self.process(message)
                except Exception as exc:
                    if not channel_lost(message):
                        raise
                    # the broker requeued the part; it resumes from its checkpoint
                    log.warning("channel_lost", error=f"{type(exc).__name__}: {exc}"[:300])

    async def process(self, message: AbstractIncomingMessage) -> None:
        structlog.contextvars.clear_contextvars()
        start = time.perf_counter()
        try:
            task_id, part_id = _parse(message.body)
            structlog.contextvars.bind_contextvars(task_id=str(task_id), part_id=str(part_id))
            outcome = await self._worker.run(task_id, part_id)
            if outcome == "again":
                await self._parts.publish(task_id, [part_id])
        except BadPart as exc:
            await self._outlets.park(message, exc)
            outcome = "parked"
        except Exception as exc:
            log.warning("part_failed", error=f"{type(exc).__name__}: {exc}"[:500],
                        delivery=(message.headers or {}).get("x-delivery-count"))
            await asyncio.sleep(RETRY_PAUSE_S)  # a pause before the broker redelivers, bounded by its limit
            await message.nack(requeue=True)
            return
        await message.ack()
        log.info("part", outcome=outcome, duration_ms=round((time.perf_counter() - start) * 1000, 2))


def _parse(body: bytes) -> tuple[UUID, UUID]:
    try:
        raw = json.loads(body)
        return UUID(raw["task_id"]), UUID(raw["part_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadPart(f"not a part message: {exc}") from None

