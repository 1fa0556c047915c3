"""Where a message goes when it does not simply end in an ack: the parking queue, a retry delay
queue, the dead-letter queue, or an RPC reply. Every publish waits for the broker's confirm, and
the caller acks the original only afterwards, so a crash in between duplicates, never loses."""

from __future__ import annotations

from datetime import UTC, datetime

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from pamqp.common import FieldTable

from contracts.errors import LunaError
from contracts.topology import Topology

ATTEMPT = "x-attempt"
FIRST_FAILURE = "x-first-failure"


def _copy(message: AbstractIncomingMessage, headers: FieldTable) -> Message:
    return Message(message.body, headers=headers, content_type=message.content_type,
                   message_id=message.message_id, correlation_id=message.correlation_id,
                   reply_to=message.reply_to, type=message.type, delivery_mode=DeliveryMode.PERSISTENT)


def attempts(message: AbstractIncomingMessage) -> int:
    """How many times this command failed transiently before (our header survives retries)."""
    value = (message.headers or {}).get(ATTEMPT, 0)
    return value if isinstance(value, int) else 0


class Outlets:
    """Publishes copies of a message to the places the acknowledgement policy chooses."""

    def __init__(self, channel: AbstractChannel, topo: Topology, retry_delays_ms: list[int]) -> None:
        self._channel = channel
        self._topo = topo
        self.retry_delays_ms = retry_delays_ms

    async def park(self, message: AbstractIncomingMessage, error: LunaError) -> None:
        """A message that can never succeed, kept with its reason."""
        headers = dict(message.headers or {})
        headers.update({"x-parked-reason": error.detail[:1024], "x-error-code": int(error.code),
                        "x-original-exchange": message.exchange or "",
                        "x-original-routing-key": message.routing_key or "",
                        "x-parked-at": datetime.now(UTC).isoformat()})
        await self._channel.default_exchange.publish(_copy(message, headers), self._topo.parking_queue)

    async def retry_or_dead_letter(self, message: AbstractIncomingMessage, error: str) -> str:
        """Send a transiently failed message to the next delay queue, or, past the last one, to the
        dead-letter queue with its history. Returns where it went."""
        attempt = attempts(message) + 1
        now = datetime.now(UTC).isoformat()
        headers = dict(message.headers or {})
        headers.update({ATTEMPT: attempt, "x-last-failure": now, "x-last-error": error[:1024],
                        "x-original-routing-key": _original_key(message)})
        headers.setdefault(FIRST_FAILURE, now)
        copy = _copy(message, headers)
        if attempt <= len(self.retry_delays_ms):
            exchange = await self._channel.get_exchange(self._topo.retry_exchange(attempt), ensure=False)
            # The routing key rides along: when the delay expires the message is dead-lettered
            # back into the commands exchange and routed by its type again.
            await exchange.publish(copy, routing_key=_original_key(message))
            return f"retry {attempt}"
        headers["x-dead-letter-reason"] = f"failed {attempt} times; last error: {error}"[:1024]
        dead = await self._channel.get_exchange(self._topo.dead_letter_exchange, ensure=False)
        await dead.publish(_copy(message, headers), routing_key=_original_key(message))
        return "dead-letter"

    async def reply(self, message: AbstractIncomingMessage, body: bytes) -> None:
        """The AMQP RPC reply: the same JSON as the Kafka result, to `reply_to`."""
        assert message.reply_to
        await self._channel.default_exchange.publish(
            Message(body, content_type="application/json", correlation_id=message.correlation_id),
            routing_key=message.reply_to)


def _original_key(message: AbstractIncomingMessage) -> str:
    key = (message.headers or {}).get("x-original-routing-key")
    return key if isinstance(key, str) and key else (message.routing_key or "")
