"""The AMQP adapter: bytes in, one pipeline call, then one acknowledgement policy (`process`):

- the command reached a result (ok, business error or duplicate): reply if asked, then ack;
- the message can never be a command (bad JSON, unknown type, invalid payload, publisher not
  allowed): park a copy with its reason, record the error result, ack;
- anything else is transient: a copy goes to the next retry delay queue (or, past the last, to the
  dead-letter queue with its history), then the original is acked.

Every outcome is one log line. Up to `concurrency` messages of a queue run at once, but one
account's commands run one after the other, in the order they arrived (`consumers.lanes`).
A message whose channel died under it (a broker restart) is left to the broker, which delivers it
again: the inbox makes that a duplicate. Any other failure to settle a message nacks it back to
the queue, where the delivery limit bounds it. The consumer itself keeps running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from uuid import UUID

import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from consumers.lanes import Lanes, lane_key
from consumers.outlets import Outlets, attempts
from consumers.pipeline import Outcome, Pipeline
from consumers.subscription import Subscription, channel_lost
from contracts.decode import Command, Rejected, decode
from contracts.errors import ErrorCode

log = structlog.get_logger("luna.consumer")
# Command families whose result key (`Outcome.account_id`) is the owning account (a task's is the
# task id), so a differing `account_id` header is a publisher's mistake worth a warning.
ACCOUNT_KEYED = frozenset({"account", "token", "list", "person", "face"})


class CommandConsumer:
    """Consumes command queues; `stop()` ends consumption after the messages in hand."""

    def __init__(self, pipeline: Pipeline, outlets: Outlets, allowed_publishers: frozenset[str] = frozenset(),
                 on_done: Callable[[str, Outcome, float], None] | None = None, concurrency: int = 1) -> None:
        self._pipeline = pipeline
        self._concurrency = concurrency
        self._outlets = outlets
        self._allowed = allowed_publishers
        self._on_done = on_done or (lambda _t, _o, _d: None)
        self._subscriptions: list[Subscription] = []
        self.in_flight = 0

    async def consume(self, queue: AbstractQueue) -> None:
        """Run until `stop()`; the messages being processed always finish first."""
        lanes = Lanes(self._concurrency)
        try:
            async with Subscription(queue) as subscription:
                self._subscriptions.append(subscription)
                async for message in subscription:
                    await lanes.submit(lane_key(message), partial(self.settle, message))
                await lanes.join()
        finally:
            await lanes.cancel()  # only when cancelled itself: after join() nothing is left running

    async def stop(self) -> None:
        """Stop taking messages; prefetched ones not started go back to their queue on close."""
        await asyncio.gather(*(sub.stop() for sub in self._subscriptions))

    async def settle(self, message: AbstractIncomingMessage) -> None:
        """`process`, and never let one message end the consumer."""
        try:
            await self.process(message)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            if channel_lost(message):
                log.warning("channel_lost", message_id=message.message_id, error=error)
                return
            log.error("settle_failed", message_id=message.message_id, error=error)
            try:
                await message.nack(requeue=True)
            except Exception as nack_exc:
                log.warning("nack_failed", message_id=message.message_id, error=repr(nack_exc)[:200])

    async def process(self, message: AbstractIncomingMessage) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(routing_key=message.routing_key, message_id=message.message_id)
        start = time.perf_counter()
        self.in_flight += 1
        type_ = "unknown"
        try:
            try:
                cmd = self._admit(message)
            except Rejected as rejected:
                type_ = rejected.type or "unknown"
                structlog.contextvars.bind_contextvars(command_id=str(rejected.command_id), type=type_)
                await self._outlets.park(message, rejected)
                outcome = await self._pipeline.reject(rejected)
            else:
                type_ = cmd.type
                structlog.contextvars.bind_contextvars(command_id=str(cmd.command_id), type=type_)
                outcome = await self._pipeline.handle(cmd)
            if message.reply_to and outcome.result is not None:
                await self._outlets.reply(message, outcome.result)
        except Exception as exc:
            await self._transient(message, exc, type_, start)
            return
        finally:
            self.in_flight -= 1
        await message.ack()
        self._done(message, type_, outcome, start)

    def _admit(self, message: AbstractIncomingMessage) -> Command:
        """Decode, then check the publisher: a publisher not on the allow-list gets 12010 (and
        nothing is applied) whether or not its message was valid."""
        try:
            cmd = decode(message.body, message.message_id, message.type or message.routing_key)
        except Rejected as rejected:
            if self._allowed and message.user_id not in self._allowed:
                raise _not_allowed(message, rejected.command_id, rejected.type, rejected.correlation_id) \
                    from None
            raise
        if self._allowed and message.user_id not in self._allowed:
            raise _not_allowed(message, cmd.command_id, cmd.type, cmd.envelope.correlation_id)
        return cmd

    async def _transient(self, message: AbstractIncomingMessage, exc: Exception, type_: str,
                         start: float) -> None:
        error = f"{type(exc).__name__}: {exc}"
        went = await self._outlets.retry_or_dead_letter(message, error)
        await message.ack()
        outcome = Outcome("dead-letter" if went == "dead-letter" else "retry")
        self._on_done(type_, outcome, time.perf_counter() - start)
        log.warning("transient_failure", outcome=outcome.status, attempt=attempts(message) + 1,
                    sent_to=went, error=error[:500], duration_ms=_ms(start))

    def _done(self, message: AbstractIncomingMessage, type_: str, outcome: Outcome, start: float) -> None:
        self._on_done(type_, outcome, time.perf_counter() - start)
        header = (message.headers or {}).get("account_id")
        if header and outcome.account_id and type_.split(".")[0] in ACCOUNT_KEYED \
                and str(header) != str(outcome.account_id):
            # Its lane was the header's account, not the owner's: ordering with the owner's other
            # commands was not guaranteed. The publisher should fix its header.
            log.warning("account_header_mismatch", header_account_id=str(header),
                        account_id=str(outcome.account_id))
        log.info("handled", outcome=outcome.status, error_code=outcome.error_code,
                 account_id=str(outcome.account_id) if outcome.account_id else None,
                 duration_ms=_ms(start))


def _not_allowed(message: AbstractIncomingMessage, command_id: UUID, type_: str | None,
                 corr: str | None) -> Rejected:
    return Rejected(ErrorCode.PUBLISHER_NOT_ALLOWED, f"publisher {message.user_id!r} is not allowed",
                    command_id, type_, corr)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


async def drain(consumer: CommandConsumer, tasks: list[asyncio.Task[None]], grace_s: float) -> None:
    """Graceful stop: no new messages, in-flight ones finish within `grace_s`, then cancel."""
    await consumer.stop()
    _, pending = await asyncio.wait(tasks, timeout=grace_s)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
