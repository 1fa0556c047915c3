"""The `work` role: task workers on the internal `task-parts` queue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aio_pika.abc import AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from consumers.face_worker import FaceWorker
from consumers.outlets import Outlets
from consumers.task_parts import AmqpPartQueue, PartConsumer
from consumers.task_work import TaskWorker, WorkDeps
from contracts.topology import Topology
from service.settings import Settings
from storage.images import ImageStore
from storage.mongo import Doc
from storage.outbox import Outbox
from storage.task_faces import TaskFaces
from storage.tasks import TaskRepository


async def start_work(conn: AbstractRobustConnection, db: AsyncDatabase[Doc], topo: Topology, s: Settings,
                     engine: FaceWorker, images: ImageStore, outbox: Outbox,
                     wake: Callable[[], None]) -> asyncio.Task[None]:
    """A channel of its own with prefetch 1 (one part in hand per worker), and its consumer task."""
    channel = await conn.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=1)
    parts = AmqpPartQueue(channel, topo.task_parts_queue)
    t = s.tasks
    worker = TaskWorker(WorkDeps(tasks=TaskRepository(db), faces=TaskFaces(db), images=images, engine=engine,
                                 outbox=outbox, parts=parts, on_outbox=wake, window=t.window,
                                 slice_s=t.slice_s, gc_batch=t.gc_batch, concurrency=t.concurrency))
    consumer = PartConsumer(worker, parts, Outlets(channel, topo, s.amqp.retry_delays_ms))
    queue = await channel.get_queue(topo.task_parts_queue, ensure=False)
    return asyncio.create_task(consumer.consume(queue), name="work")
