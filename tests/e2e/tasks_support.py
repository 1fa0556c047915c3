"""Helpers of the task tests: seeding faces straight into MongoDB and the image store (the setup of
a state, like a migration would leave it; the tasks under test then run through the real service),
and reading a task's progress events back from Kafka."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer
from PIL import Image

from consumers.extractor import CURRENT_VERSION
from storage.faces import FaceRecord, FaceRepository
from storage.images import GridFsImageStore

V2 = "dlib-resnet-flip-v2"


def sample_png(seed: int = 0) -> bytes:
    """A 150×150 RGB sample (noise is enough for the descriptor network to run on)."""
    pixels = np.random.default_rng(seed).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


async def seed_faces(db: Any, account_id: str, n: int, *, age_days: float = 2.0, person_id: str | None = None,
                     versions: tuple[str, ...] = (CURRENT_VERSION,), png: bytes | None = None) -> list[str]:
    """`n` faces of the account, last changed `age_days` ago, each with a sample and descriptors."""
    faces, images = FaceRepository(db), GridFsImageStore(db)
    at = (datetime.now(UTC) - timedelta(days=age_days)).replace(microsecond=0)
    data = png or sample_png()
    ids = []
    for _ in range(n):
        face_id, sample_id = uuid.uuid4(), str(uuid.uuid4())
        await images.put(sample_id, data)
        rec = FaceRecord(face_id, uuid.UUID(account_id), None if person_id is None else uuid.UUID(person_id),
                         (), versions, sample_id, at, at, uuid.uuid4())
        await faces.insert(rec, {v: bytes(512) for v in versions})
        ids.append(str(face_id))
    return ids


async def progress_events(bootstrap: str, topic: str, task_id: str, until_status: str,
                          timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """The task's `task_info` events from the topic alone, by `seq`, once one has `until_status`."""
    import asyncio

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    events: dict[int, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    if r.key is not None and r.key.decode() == task_id:
                        value = json.loads(r.value)
                        events[value["seq"]] = value
            if any(e["task"]["task_info"]["status"] == until_status for e in events.values()):
                return [events[s] for s in sorted(events)]
    finally:
        await consumer.stop()
    raise TimeoutError(f"no {until_status} event of task {task_id} within {timeout_s} s: {sorted(events)}")
