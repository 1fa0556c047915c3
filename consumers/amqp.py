"""The AMQP adapter: bytes in, one pipeline call, then ack / retry / park in one place.

Acknowledgement policy (`_settle`): a command that reached a result (ok or a business error) is
acked after its writes are durable; a message that can never be a command is parked, gets an
error result and is acked; anything else is transient: the message is nacked back after a growing
delay, and the queue's delivery limit dead-letters it once the limit is reached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from consumers.parking import Parker
from consumers.pipeline import Outcome, Pipeline
from contracts.decode import Rejected, decode

log = structlog.get_logger("luna.consumer")


def retry_delay(attempt: int) -> float:
    """Seconds to hold a transiently failed message before handing it back: 0.2, 0.4, ... 10."""
    return float(min(10.0, 0.2 * 2 ** max(0, attempt - 1)))


class CommandConsumer:
    """Consumes command queues one message at a time per queue, preserving publish order."""

    def __init__(self, pipeline: Pipeline, parker: Parker,
                 on_done: Callable[[str, Outcome, float], None] | None = None) -> None:
        self._pipeline = pipeline
        self._parker = parker
        self._on_done = on_done or (lambda _t, _o, _d: None)

    async def consume(self, queue: AbstractQueue) -> None:
        """Run until cancelled; in-flight work finishes before the iterator closes."""
        async with queue.iterator() as messages:
            async for message in messages:
                await self.process(message)

    async def process(self, message: AbstractIncomingMessage) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(routing_key=message.routing_key,
                                               message_id=message.message_id)
        start = time.perf_counter()
        type_ = "unknown"
        try:
            try:
                cmd = decode(message.body, message.message_id, message.type or message.routing_key)
            except Rejected as rejected:
                type_ = rejected.type or "unknown"
                structlog.contextvars.bind_contextvars(command_id=str(rejected.command_id), type=type_)
                await self._parker.park(message, rejected)
                outcome = await self._pipeline.reject(rejected)
            else:
                type_ = cmd.type
                structlog.contextvars.bind_contextvars(command_id=str(cmd.command_id), type=type_)
                outcome = await self._pipeline.handle(cmd)
        except Exception as exc:
            await self._retry(message, exc)
            return
        await message.ack()
        duration = time.perf_counter() - start
        self._on_done(type_, outcome, duration)
        log.info("handled", outcome=outcome.status, error_code=outcome.error_code,
                 account_id=str(outcome.account_id) if outcome.account_id else None,
                 duration_ms=round(duration * 1000, 2))

    async def _retry(self, message: AbstractIncomingMessage, exc: Exception) -> None:
        count = (message.headers or {}).get("x-delivery-count", 0)
        attempt = (count if isinstance(count, int) else 0) + 1
        delay = retry_delay(attempt)
        log.warning("transient_failure", outcome="retry", attempt=attempt, retry_in_s=delay,
                    error=f"{type(exc).__name__}: {exc}"[:500])
        await asyncio.sleep(delay)
        await message.nack(requeue=True)
