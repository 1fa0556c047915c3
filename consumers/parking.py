"""The parking queue: raw messages that can never succeed, kept with the reason in headers."""

from __future__ import annotations

from datetime import UTC, datetime

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from contracts.errors import LunaError
from contracts.topology import Topology


class Parker:
    """Publishes (with a publisher confirm) a copy of a rejected message to the parking queue."""

    def __init__(self, channel: AbstractChannel, topo: Topology) -> None:
        self._channel = channel
        self._queue = topo.parking_queue

    async def park(self, message: AbstractIncomingMessage, error: LunaError) -> None:
        headers = dict(message.headers or {})
        headers.update({
            "x-parked-reason": error.detail[:1024],
            "x-error-code": int(error.code),
            "x-original-exchange": message.exchange or "",
            "x-original-routing-key": message.routing_key or "",
            "x-parked-at": datetime.now(UTC).isoformat(),
        })
        copy = Message(message.body, headers=headers, content_type=message.content_type,
                       message_id=message.message_id, correlation_id=message.correlation_id,
                       type=message.type, delivery_mode=DeliveryMode.PERSISTENT)
        await self._channel.default_exchange.publish(copy, routing_key=self._queue)
