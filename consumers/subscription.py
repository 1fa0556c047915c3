"""One consumer on one queue: survives reconnects, stops cleanly, never loops a message.

Why not aio-pika's `QueueIterator`: closing it while its loop is between two messages makes the
loop subscribe again (its `__anext__` calls `consume()` once the consumer tag is gone), and the
close then nacks with requeue every message the new consumer receives, again and again, until
RabbitMQ dead-letters them at the queue's delivery limit. A SIGTERM under load lost commands to
the DLQ that way.

Here:
- the consumer callback only buffers; `stop()` cancels the consumer once (basic.cancel), gives
  the messages buffered but not started back to the queue at once (nack with requeue, one
  delivery each), and ends the loop after the message in hand;
- a robust queue re-subscribes by itself after a reconnect (aio-pika restores its consumers), so
  the loop keeps running; a buffered message whose channel died is skipped, because the broker has
  already put it back in the queue and will deliver it again on the new channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, ConsumerTag
from aio_pika.exceptions import ChannelInvalidStateError

log = structlog.get_logger("luna.subscription")
CANCEL_TIMEOUT_S = 5.0


def channel_lost(message: AbstractIncomingMessage) -> bool:
    """True when the channel the message came on is closed: it cannot be acked any more, and the
    broker has requeued it."""
    try:
        return message.channel.is_closed
    except ChannelInvalidStateError:
        return True


class Subscription:
    """`async with Subscription(queue) as sub: async for message in sub: ...`"""

    def __init__(self, queue: AbstractQueue) -> None:
        self._queue = queue
        self._buffer: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
        self._tag: ConsumerTag | None = None
        self._stopped = False

    async def __aenter__(self) -> Subscription:
        self._tag = await self._queue.consume(self._on_message)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self._buffer.put_nowait(message)

    async def __aiter__(self) -> AsyncIterator[AbstractIncomingMessage]:
        while not self._stopped:
            message = await self._buffer.get()
            if message is None or self._stopped:
                return
            if channel_lost(message):
                log.info("skipped_lost_delivery", queue=self._queue.name, message_id=message.message_id)
                continue
            yield message

    async def stop(self) -> None:
        """No new messages: cancel the consumer, and end the loop after the message in hand."""
        if self._stopped:
            return
        self._stopped = True
        self._buffer.put_nowait(None)
        tag, self._tag = self._tag, None
        if tag is None:
            return
        try:  # bounded: while RabbitMQ is away a robust channel would wait for it
            await asyncio.wait_for(self._queue.cancel(tag), CANCEL_TIMEOUT_S)
        except Exception as exc:  # the channel is gone (so is the consumer), or the broker is away
            log.info("cancel_skipped", queue=self._queue.name, error=repr(exc)[:200])
        await self._return_unstarted()

    async def _return_unstarted(self) -> None:
        """Give the buffered, unstarted messages back now (another consumer can take them during
        our shutdown grace) rather than when the channel closes."""
        returned = 0
        while not self._buffer.empty():
            message = self._buffer.get_nowait()
            if message is None or channel_lost(message):
                continue
            try:
                await message.nack(requeue=True)
                returned += 1
            except Exception as exc:  # the channel closed meanwhile: the broker requeued it
                log.info("return_skipped", queue=self._queue.name, error=repr(exc)[:200])
        self._buffer.put_nowait(None)  # the loop may still be waiting for its end marker
        if returned:
            log.info("returned_unstarted", queue=self._queue.name, messages=returned)
