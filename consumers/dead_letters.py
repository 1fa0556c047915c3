"""The dead-letter side: draining the DLQ into MongoDB, and replaying from there.

Two kinds of message reach the DLQ: ones our retry policy gave up on (with `x-attempt`,
`x-first-failure`, `x-last-failure`, `x-dead-letter-reason`), and ones RabbitMQ dead-lettered
itself when a queue's delivery limit was hit (a consumer that kept dying on them; `x-death`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import structlog
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from pamqp.common import FieldTable

from consumers.subscription import Subscription
from contracts import ids
from contracts.topology import Topology
from storage.dead_letters import DeadLetterRecord, DeadLetterStore

log = structlog.get_logger("luna.dlq")
STORE_RETRY_PAUSE_S = 1.0
RETRY_HEADERS = ("x-attempt", "x-first-failure", "x-last-failure", "x-last-error", "x-death",
                 "x-dead-letter-reason", "x-first-death-exchange", "x-first-death-queue",
                 "x-first-death-reason", "x-delivery-count")


def record_of(message: AbstractIncomingMessage) -> DeadLetterRecord:
    """What we keep of a dead-lettered message: body, routing, and why it died."""
    headers = dict(message.headers or {})
    deaths = headers.get("x-death") or []
    first = deaths[0] if isinstance(deaths, list) and deaths else None
    death: dict[str, Any] = dict(first) if isinstance(first, dict) else {}
    routing_key = str(headers.get("x-original-routing-key") or (death.get("routing-keys") or [""])[0]
                      or message.routing_key or "")
    attempts = headers.get("x-attempt") or death.get("count") or 1
    last = _time(headers.get("x-last-failure")) or _time(death.get("time"))
    return DeadLetterRecord(
        message_id=message.message_id or str(ids.for_body(message.body)),
        queue=str(death.get("queue") or headers.get("x-first-death-queue") or ""),
        routing_key=routing_key,
        reason=str(headers.get("x-dead-letter-reason") or f"broker: {death.get('reason', 'unknown')}"),
        attempts=int(attempts) if isinstance(attempts, int) else 1,
        first_failure=_time(headers.get("x-first-failure")) or last, last_failure=last,
        body=message.body, headers=json.loads(json.dumps(headers, default=str)),
        properties={"content_type": message.content_type, "type": message.type,
                    "correlation_id": message.correlation_id, "reply_to": message.reply_to})


async def drain_dead_letters(queue: AbstractQueue, store: DeadLetterStore) -> None:
    """Move every dead-lettered message into MongoDB: insert, then ack."""
    async with Subscription(queue) as messages:
        async for message in messages:
            try:
                rec = record_of(message)
                await store.add(rec, datetime.now(UTC))
                await message.ack()
            except Exception as exc:
                # MongoDB away, or the channel lost: the message stays in the DLQ (stored again
                # under the same id next time), after a pause so an outage is not a hot loop.
                log.warning("dead_letter_store_failed", message_id=message.message_id,
                            error=f"{type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(STORE_RETRY_PAUSE_S)
                with contextlib.suppress(Exception):  # a channel lost meanwhile has requeued it
                    await message.nack(requeue=True)
                continue
            log.warning("dead_lettered", message_id=rec.message_id, routing_key=rec.routing_key,
                        reason=rec.reason[:300], attempts=rec.attempts)


class AmqpReplayer:
    """Publishes a dead letter back to the commands exchange with a fresh retry budget; the inbox
    makes a replay of an already applied command a harmless duplicate."""

    def __init__(self, channel: AbstractChannel, topo: Topology) -> None:
        self._channel = channel
        self._topo = topo

    async def replay(self, rec: DeadLetterRecord) -> None:
        headers: FieldTable = {k: v for k, v in rec.headers.items()
                               if k not in RETRY_HEADERS and isinstance(v, str | int)}
        headers["x-replayed-at"] = datetime.now(UTC).isoformat()
        props = rec.properties
        # Task parts go back to their internal queue (through the default exchange), commands to
        # the commands exchange to be routed by type again.
        if rec.routing_key == self._topo.task_parts_queue:
            exchange = self._channel.default_exchange
        else:
            exchange = await self._channel.get_exchange(self._topo.commands_exchange, ensure=False)
        await exchange.publish(Message(rec.body, headers=headers, message_id=rec.message_id,
                                       content_type=props.get("content_type"), type=props.get("type"),
                                       correlation_id=props.get("correlation_id"),
                                       reply_to=props.get("reply_to"),
                                       delivery_mode=DeliveryMode.PERSISTENT),
                               routing_key=rec.routing_key)


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
