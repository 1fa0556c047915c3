"""The FastStream peer application (see `bench.peer`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel, ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts import accounts as c
from contracts import ids
from contracts.envelope import CommandEnvelope, DomainEvent, ResultEvent
from service.settings import Settings
from storage.mongo import ensure_indexes

settings = Settings()
topo_prefix = settings.prefix
rabbit = RabbitBroker(settings.amqp.url.get_secret_value(), logger=None,
                      default_channel=Channel(prefetch_count=settings.amqp.prefetch))
kafka = KafkaBroker(settings.kafka.bootstrap, enable_idempotence=True, acks="all", linger_ms=2, logger=None)
app = FastStream(rabbit, logger=None)
hasher = PasswordHasher(**settings.passwords.argon2())  # the service's parameters (LUNA_PASSWORDS__*)
# FastStream hands each delivered message to its own task (aio-pika `queue.consume` callbacks), so
# up to `prefetch` commands run at once and per-queue order is lost. BENCH_PEER_ORDERED=1 serialises
# them (asyncio.Lock is FIFO, so processing follows delivery order), as our consumer does.
ordered = asyncio.Lock() if os.environ.get("BENCH_PEER_ORDERED") == "1" else contextlib.nullcontext()


class Store:
    """The MongoDB client, made at start-up (nothing connects at import)."""

    client: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase[dict[str, Any]]


store = Store()

commands = RabbitExchange(f"{topo_prefix}.commands", type=ExchangeType.TOPIC, durable=True)
accounts_queue = RabbitQueue(f"{topo_prefix}.accounts", queue_type=QueueType.QUORUM, durable=True,
                             routing_key="account.*",
                             arguments={"x-delivery-limit": settings.amqp.delivery_limit,
                                        "x-overflow": "reject-publish"})


@app.on_startup
async def start_clients() -> None:
    store.client = AsyncMongoClient(settings.mongo.url.get_secret_value(), tz_aware=True)
    store.db = store.client[settings.mongo.database]
    await ensure_indexes(store.db)
    await kafka.start()


@app.after_shutdown
async def stop_clients() -> None:
    await kafka.stop()
    await store.client.close()


def _outbox_doc(model: ResultEvent | DomainEvent, stream: str, key: str, kind: str,
                seq: int) -> dict[str, Any]:
    headers = {"event_id": str(model.event_id), "type": model.type, "command_id": str(model.command_id),
               "content-type": "application/json"}
    return {"_id": str(model.event_id), "stream": stream, "key": key,
            "value": model.model_dump_json().encode(), "headers": headers,
            "command_id": str(model.command_id), "kind": kind, "seq": seq, "sent": True,
            "created_at": datetime.now(UTC)}


async def _publish(doc: dict[str, Any]) -> None:
    await kafka.publish(doc["value"], f"{topo_prefix}.{doc['stream']}", key=doc["key"].encode(),
                        headers=doc["headers"])


@rabbit.subscriber(accounts_queue, commands, ack_policy=AckPolicy.NACK_ON_ERROR)
async def account_create(envelope: CommandEnvelope) -> None:
    async with ordered:
        await _create(envelope)


async def _create(envelope: CommandEnvelope) -> None:
    cmd = c.AccountCreate.model_validate(envelope.payload)
    command_id = envelope.command_id
    db = store.db
    if await db.inbox.find_one({"_id": str(command_id)}) is not None:
        return
    password_hash = await asyncio.to_thread(hasher.hash, cmd.password)
    now = datetime.now(UTC)
    account_id = cmd.account_id or ids.derive(command_id, "account")
    await db.accounts.insert_one({
        "_id": str(account_id), "email": cmd.email, "email_lower": cmd.email.lower(),
        "organization_name": cmd.organization_name, "password_hash": password_hash, "blocked": False,
        "created_by": str(command_id), "create_time": now})
    info = c.AccountInfo(account_id=account_id, email=cmd.email, organization_name=cmd.organization_name,
                         status=False).model_dump(mode="json")
    event = DomainEvent(event_id=ids.derive(command_id, "account.created", 0), type="account.created",
                        command_id=command_id, account_id=account_id, data=info, occurred_at=now)
    result = ResultEvent(event_id=ids.derive(command_id, "result"), type="account.create.result",
                         command_id=command_id, correlation_id=envelope.correlation_id, status="ok",
                         result=info, occurred_at=now)
    seq = time.time_ns()
    docs = [_outbox_doc(event, "events", str(account_id), "event", seq),
            _outbox_doc(result, "results", str(account_id), "result", seq + 1)]
    await db.outbox.insert_many(docs, ordered=False)
    await asyncio.gather(*[_publish(d) for d in docs])
    await db.inbox.update_one({"_id": str(command_id)}, {"$setOnInsert": {
        "type": envelope.type, "status": "ok", "result_event_id": str(result.event_id), "processed_at": now}},
        upsert=True)


if __name__ == "__main__":
    asyncio.run(app.run())
