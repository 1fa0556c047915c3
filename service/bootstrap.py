"""The composition root: builds every client inside one `AsyncExitStack`, wires the pipeline and
runs the roles (consume, relay). Nothing connects at import time."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType

import aio_pika
import structlog
from pymongo.asynchronous.database import AsyncDatabase

from consumers.amqp import CommandConsumer
from consumers.counters import CommandCounters
from consumers.parking import Parker
from consumers.passwords import Argon2Hasher
from consumers.pipeline import Pipeline
from consumers.ports import Deps, ServiceInfo
from consumers.topology import declare
from contracts.topology import Topology
from producers.kafka import KafkaPublisher, ensure_topics
from producers.relay import OutboxRelay
from service.settings import Settings
from storage.accounts import AccountRepository
from storage.images import GridFsImageStore
from storage.inbox import Inbox
from storage.lookup import Lookup
from storage.mongo import Doc, connect, ensure_indexes
from storage.outbox import Outbox
from storage.secrets import service_key
from storage.series import SeriesStore
from storage.tokens import TokenRepository

log = structlog.get_logger("luna.service")


def package_version() -> str:
    try:
        return version("luna-admin-bus")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


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
        self.counters: CommandCounters | None = None

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
            deps = await self._deps(db)
            wake = self.relay.wake if self.relay else None
            pipeline = Pipeline(deps, Inbox(db), outbox, on_outbox=wake)
            self.counters = counters = CommandCounters(SeriesStore(db))
            self._tasks.append(asyncio.create_task(counters.run(self._stop), name="counters"))
            consumer = CommandConsumer(pipeline, Parker(channel, self.topology),
                                       on_done=lambda t, o, _d: counters.record(t, o.status))
            for q in queues:
                self._tasks.append(asyncio.create_task(consumer.consume(q), name=f"consume:{q.name}"))
        log.info("started", roles=sorted(self.roles), prefix=self.topology.prefix)

    async def _deps(self, db: AsyncDatabase[Doc]) -> Deps:
        info = ServiceInfo(version=package_version(), config=self.settings.public(),
                           grafana_url=self.settings.grafana_url)
        return Deps(accounts=AccountRepository(db), passwords=Argon2Hasher(),
                    tokens=TokenRepository(db), lookup=Lookup(db), series=SeriesStore(db),
                    images=GridFsImageStore(db), service_key=await service_key(db), info=info)

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
