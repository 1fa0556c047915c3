"""The composition root: builds every client inside one `AsyncExitStack`, wires the pipeline and
runs the roles (consume, relay). Nothing connects at import time."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from types import TracebackType

import aio_pika
import structlog
from pymongo.asynchronous.database import AsyncDatabase

from consumers.amqp import CommandConsumer
from consumers.parking import Parker
from consumers.passwords import Argon2Hasher
from consumers.pipeline import Pipeline
from consumers.ports import Deps
from consumers.topology import declare
from contracts.topology import Topology
from producers.kafka import KafkaPublisher, ensure_topics
from producers.relay import OutboxRelay
from service.settings import Settings
from storage.accounts import AccountRepository
from storage.inbox import Inbox
from storage.mongo import Doc, connect, ensure_indexes
from storage.outbox import Outbox

log = structlog.get_logger("luna.service")


class Service:
    """The running service. `async with Service(settings) as svc:` starts it; leaving stops it:
    consumers stop first, then the relay drains the outbox, then clients close."""

    def __init__(self, settings: Settings, roles: frozenset[str] = frozenset({"consume", "relay"})) -> None:
        self.settings = settings
        self.roles = roles
        self.topology = Topology(settings.prefix)
        self._stack = AsyncExitStack()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.db: AsyncDatabase[Doc] | None = None
        self.relay: OutboxRelay | None = None

    async def __aenter__(self) -> Service:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def _start(self) -> None:
        s = self.settings
        mongo = connect(s.mongo.url.get_secret_value())
        self._stack.push_async_callback(mongo.close)
        self.db = db = mongo[s.mongo.database]
        await ensure_indexes(db)
        outbox = Outbox(db)
        if "relay" in self.roles:
            await ensure_topics(s.kafka.bootstrap, self.topology.topics, s.kafka.partitions)
            publisher = KafkaPublisher(s.kafka.bootstrap)
            await publisher.start()
            self._stack.push_async_callback(publisher.stop)
            self.relay = OutboxRelay(outbox, publisher, self.topology)
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop), name="relay"))
        if "consume" in self.roles:
            conn = await aio_pika.connect_robust(s.amqp.url.get_secret_value())
            self._stack.push_async_callback(conn.close)
            channel = await conn.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=s.amqp.prefetch)
            queues = await declare(channel, self.topology, s.amqp.delivery_limit)
            deps = Deps(accounts=AccountRepository(db), passwords=Argon2Hasher())
            wake = self.relay.wake if self.relay else None
            pipeline = Pipeline(deps, Inbox(db), outbox, on_outbox=wake)
            consumer = CommandConsumer(pipeline, Parker(channel, self.topology))
            for q in queues:
                self._tasks.append(asyncio.create_task(consumer.consume(q), name=f"consume:{q.name}"))
        log.info("started", roles=sorted(self.roles), prefix=self.topology.prefix)

    async def aclose(self) -> None:
        consumers = [t for t in self._tasks if t.get_name().startswith("consume:")]
        for t in consumers:
            t.cancel()
        for t in consumers:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._stop.set()
        for t in self._tasks:
            if t not in consumers:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        await self._stack.aclose()
        log.info("stopped")

    async def wait(self) -> None:
        """Run until a role's task ends (an error) or the service is closed."""
        await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in self._tasks:
            if t.done() and not t.cancelled() and t.exception():
                raise t.exception()  # type: ignore[misc]
