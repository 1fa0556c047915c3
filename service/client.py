"""A small client for the bus, used by the CLI, the demo and the tests: publish commands to
RabbitMQ, read results back from Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aiokafka import AIOKafkaConsumer

from contracts.topology import Topology


def envelope(type_: str, payload: dict[str, Any], command_id: uuid.UUID | None = None,
             version: int = 1) -> dict[str, Any]:
    """A command envelope ready to publish."""
    return {"command_id": str(command_id or uuid.uuid4()), "type": type_, "version": version,
            "issued_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "payload": payload}


class BusClient:
    """Publishes with publisher confirms on one channel."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel, topo: Topology) -> None:
        self._channel = channel
        self.topo = topo

    async def publish(self, command: dict[str, Any] | bytes, routing_key: str | None = None,
                      **properties: Any) -> None:
        """Publish a command (a dict becomes its JSON) with the type as routing key."""
        if isinstance(command, dict):
            body = json.dumps(command).encode()
            routing_key = routing_key or command["type"]
            properties.setdefault("message_id", command["command_id"])
            properties.setdefault("type", command["type"])
            account_id = command.get("payload", {}).get("account_id")
            if account_id:  # the shard key: one account's commands stay in order
                properties["headers"] = {"account_id": str(account_id), **properties.get("headers", {})}
        else:
            body = command
        exchange = await self._channel.get_exchange(self.topo.commands_exchange, ensure=False)
        msg = aio_pika.Message(body, content_type="application/json",
                               delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **properties)
        await exchange.publish(msg, routing_key=routing_key or "unknown")


@asynccontextmanager
async def bus(amqp_url: str, topo: Topology) -> AsyncIterator[BusClient]:
    conn = await aio_pika.connect_robust(amqp_url)
    try:
        yield BusClient(await conn.channel(publisher_confirms=True), topo)
    finally:
        await conn.close()


class TopicReader:
    """Reads a topic from the beginning (or, with `from_end`, only what arrives after entering);
    `wait_for` returns the first records matching a test."""

    def __init__(self, bootstrap: str, topic: str, from_end: bool = False) -> None:
        self._consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                          enable_auto_commit=False, group_id=None)
        self._from_end = from_end
        self.seen: list[dict[str, Any]] = []

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        if self._from_end:
            await self._at_end()
        return self

    async def _at_end(self, timeout_s: float = 15.0) -> None:
        """Pin every partition's position at its current end before the caller publishes, so a
        result cannot slip in between (positions are otherwise resolved lazily)."""
        c = self._consumer
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not c.assignment():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("no partition assigned: does the topic exist?")
            await c.getmany(timeout_ms=100)
        await c.seek_to_end()
        for tp in c.assignment():
            await c.position(tp)

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def poll(self, timeout_s: float = 0.5) -> list[dict[str, Any]]:
        batch = await self._consumer.getmany(timeout_ms=int(timeout_s * 1000))
        new = [{"key": r.key.decode() if r.key else None, "value": json.loads(r.value),
                "headers": {k: v.decode() for k, v in r.headers}}
               for records in batch.values() for r in records]
        self.seen.extend(new)
        return new

    async def wait_for(self, count: int = 1, timeout_s: float = 30.0, **match: Any) -> list[dict[str, Any]]:
        """Wait until `count` records whose value has all the `match` items were seen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            hits = [r for r in self.seen if all(r["value"].get(k) == v for k, v in match.items())]
            if len(hits) >= count:
                return hits
            if loop.time() > deadline:
                raise TimeoutError(f"saw {len(hits)} of {count} records matching {match}")
            await self.poll()
