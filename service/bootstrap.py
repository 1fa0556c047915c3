"""The composition root: builds every client inside one `AsyncExitStack`, wires the pipeline and
runs the roles (consume, relay). Nothing connects at import time."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from contextlib import AsyncExitStack
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from consumers.amqp import CommandConsumer, drain
from consumers.counters import CommandCounters
from consumers.dead_letters import AmqpReplayer, drain_dead_letters
from consumers.face_worker import FaceWorker
from consumers.outlets import Outlets
from consumers.passwords import Argon2Hasher
from consumers.pipeline import Outcome, Pipeline
from consumers.ports import Deps, Handler, ServiceInfo
from consumers.task_parts import AmqpPartQueue
from consumers.topology import declare
from contracts.topology import Topology
from producers.kafka import KafkaPublisher, ensure_topics
from producers.relay import OutboxRelay
from service.health import Readiness, bound_port, serve
from service.metrics import Metrics, Sampler
from service.settings import Settings
from service.work_role import start_work
from storage.accounts import AccountRepository
from storage.dead_letters import DeadLetterStore
from storage.faces import FaceRepository
from storage.images import GridFsImageStore, ImageStore
from storage.inbox import Inbox
from storage.lease import Lease
from storage.lists import ListRepository
from storage.lookup import Lookup
from storage.mongo import Doc, connect, ensure_indexes
from storage.outbox import Outbox
from storage.persons import PersonRepository
from storage.retention import keep_pruned
from storage.secrets import service_key
from storage.series import SeriesStore
from storage.task_faces import TaskFaces
from storage.tasks import TaskRepository
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

    def __init__(self, settings: Settings, roles: frozenset[str] = frozenset({"consume", "relay", "work"}),
                 handlers: dict[str, Handler] | None = None,
                 wrap_images: Callable[[ImageStore], ImageStore] | None = None) -> None:
        """`handlers` replaces the dispatch table and `wrap_images` wraps the image store (tests
        use them to inject failures)."""
        self.settings = settings
        self.roles = roles
        self._handlers = handlers
        self._wrap_images = wrap_images
        self._face_engine: FaceWorker | None = None
        self.topology = Topology(settings.prefix)
        self._stack = AsyncExitStack()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.db: AsyncDatabase[Doc] | None = None
        self.relay: OutboxRelay | None = None
        self.counters: CommandCounters | None = None
        self.consumer: CommandConsumer | None = None
        self._channel: AbstractChannel | None = None
        self.metrics = Metrics()
        self.http_port: int | None = None  # where /metrics, /healthz and /readyz answer

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
        mongo = connect(s.mongo.url.get_secret_value(), op_timeout_ms=s.mongo.op_timeout_ms,
                        max_pool=s.mongo.max_pool)
        self._stack.push_async_callback(mongo.close)
        self.db = db = mongo[s.mongo.database]
        await ensure_indexes(db)
        outbox = Outbox(db)
        if "relay" in self.roles:
            await ensure_topics(s.kafka.bootstrap, self.topology.topics, s.kafka.partitions)
            publisher = KafkaPublisher(s.kafka.bootstrap)
            await publisher.start()
            self._stack.push_async_callback(publisher.stop)
            lease = Lease(db, "outbox-relay", owner=f"{socket.gethostname()}:{os.getpid()}:{id(self)}",
                          ttl_s=s.kafka.relay_lease_s)
            self.relay = OutboxRelay(outbox, publisher, self.topology, lease=lease)
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop), name="relay"))
            r = s.retention
            self._tasks.append(asyncio.create_task(
                keep_pruned(db, self._stop, r.inbox_s, r.outbox_margin_s, r.every_s), name="retention"))
        if not self.roles & {"consume", "work"}:
            await self._observe(db, None, [], [])
            log.info("started", roles=sorted(self.roles), prefix=self.topology.prefix)
            return
        conn = await aio_pika.connect_robust(s.amqp.url.get_secret_value())
        self._stack.push_async_callback(conn.close)
        channel = await conn.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=s.amqp.prefetch)
        queues, dlq = await declare(channel, self.topology, s.amqp.delivery_limit,
                                    s.amqp.retry_delays_ms, s.amqp.shards)
        self._channel = channel
        declared = [q.name for q in queues] + [self.topology.task_parts_queue, dlq.name,
                                               self.topology.parking_queue]
        consumed = [self.topology.task_parts_queue] if "work" in self.roles else []
        if "work" in self.roles:
            self._tasks.append(await start_work(conn, db, self.topology, s, await self._engine(),
                                                self._images(db), outbox,
                                                self.relay.wake if self.relay else (lambda: None)))
        if "consume" in self.roles:
            deps = await self._deps(db)
            wake = self.relay.wake if self.relay else None
            pipeline = Pipeline(deps, Inbox(db), outbox, handlers=self._handlers, on_outbox=wake)
            self.counters = counters = CommandCounters(SeriesStore(db))
            self._tasks.append(asyncio.create_task(counters.run(self._stop), name="counters"))
            outlets = Outlets(channel, self.topology, s.amqp.retry_delays_ms)
            self.consumer = consumer = CommandConsumer(
                pipeline, outlets, frozenset(s.amqp.allowed_publishers),
                on_done=self._on_done, concurrency=s.amqp.concurrency)
            if s.amqp.shards and s.amqp.own_shards:
                own = {self.topology.shard_queue(i) for i in s.amqp.own_shards}
                queues = [q for q in queues if q.name in own]
            consumed += [q.name for q in queues]
            for q in queues:
                self._tasks.append(asyncio.create_task(consumer.consume(q), name=f"consume:{q.name}"))
            self._tasks.append(asyncio.create_task(drain_dead_letters(dlq, DeadLetterStore(db)),
                                                   name="dead-letters"))
        await self._observe(db, conn, declared, consumed)
        log.info("started", roles=sorted(self.roles), prefix=self.topology.prefix)

    def _on_done(self, type_: str, outcome: Outcome, seconds: float) -> None:
        if self.counters is not None:
            self.counters.record(type_, outcome.status)
        self.metrics.handled(type_, outcome.status, seconds)

    async def _observe(self, db: AsyncDatabase[Doc], conn: AbstractRobustConnection | None,
                       declared: list[str], consumed: list[str]) -> None:
        """The HTTP port (metrics, health, readiness) and the gauge sampler."""
        s = self.settings
        kafka = s.kafka.bootstrap if "relay" in self.roles else None
        readiness = Readiness(self.metrics, db, conn, consumed, kafka)
        self._stack.push_async_callback(readiness.close)
        sampler = Sampler(self.metrics, db, conn, declared, self.topology, s.http.sample_s)
        self._tasks.append(asyncio.create_task(sampler.run(readiness.check), name="metrics"))
        if s.http.enabled:
            runner = await serve(self.metrics, readiness, s.http.host, s.http.port)
            self._stack.push_async_callback(runner.cleanup)
            self.http_port = bound_port(runner)
            log.info("http", host=s.http.host, port=self.http_port)

    async def _deps(self, db: AsyncDatabase[Doc]) -> Deps:
        assert self._channel is not None, "the consume role opens the channel first"
        info = ServiceInfo(version=package_version(), config=self.settings.public(),
                           grafana_url=self.settings.grafana_url)
        pw = self.settings.passwords
        return Deps(accounts=AccountRepository(db),
                    passwords=Argon2Hasher(**pw.argon2(), workers=pw.workers, nice=pw.nice),
                    tokens=TokenRepository(db), lookup=Lookup(db), series=SeriesStore(db),
                    images=self._images(db), service_key=await service_key(db), info=info,
                    dead_letters=DeadLetterStore(db), replayer=AmqpReplayer(self._channel, self.topology),
                    lists=ListRepository(db), persons=PersonRepository(db), faces=FaceRepository(db),
                    engine=await self._engine(), tasks=TaskRepository(db), task_faces=TaskFaces(db),
                    parts=AmqpPartQueue(self._channel, self.topology.task_parts_queue),
                    task_window=self.settings.tasks.window)

    async def _engine(self) -> FaceWorker:
        """One face engine per process, shared by the roles. Entered in the service's stack: the
        worker processes stop when the service closes."""
        if self._face_engine is None:
            self._face_engine = await self._stack.enter_async_context(FaceWorker(self.settings.faces.workers))
        return self._face_engine

    def _images(self, db: AsyncDatabase[Doc]) -> ImageStore:
        store: ImageStore = GridFsImageStore(db)
        return self._wrap_images(store) if self._wrap_images else store

    async def aclose(self) -> None:
        """Graceful stop: consumers take no new message and finish the ones in hand (within the
        grace period), then the relay publishes what is left in the outbox, then clients close."""
        consumers = [t for t in self._tasks if t.get_name().startswith("consume:")]
        for t in self._tasks:
            if t.get_name() == "work":
                t.cancel()  # an unacked part is redelivered and resumes from its checkpoint
        if self.consumer is not None:
            await drain(self.consumer, consumers, self.settings.shutdown_grace_s)
        self._stop.set()
        for t in self._tasks:
            if t.get_name() in ("dead-letters", "metrics"):
                t.cancel()  # an unacked dead letter is simply drained again next time
        # The relay drains the outbox; everything else ends at once. Bounded, and a task that
        # failed is logged, not raised: the clients below must close whatever happened.
        others = [t for t in self._tasks if t not in consumers]
        if others:
            done, pending = await asyncio.wait(others, timeout=self.settings.shutdown_grace_s)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    log.warning("task_failed", task=t.get_name(), error=repr(t.exception())[:500])
        await self._stack.aclose()
        log.info("stopped")

    async def wait(self) -> None:
        """Run until a role's task ends (an error) or the service is closed."""
        await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in self._tasks:
            if t.done() and not t.cancelled() and t.exception():
                raise t.exception()  # type: ignore[misc]
