"""Re-extraction throughput against the raw speed of the same extractor, in one run:
`.venv/bin/python -m bench.reextract [--faces 96]` (the local stack must be up).

- raw: the target extractor on the same samples, one after another, in one face-worker process
  (the engine the service uses, with `LUNA_FACES__WORKERS=1`): descriptors per second.
- pipeline: a `task.reextract.start` through the real service (consume, relay and work roles in
  this process, one face-worker process): from the command's publish to the task's `done` in
  MongoDB, descriptors per second. Parts, checkpoints, image-store reads, writes and progress
  events included.

Prints both and their ratio; the faces are real aligned samples (the astronaut photo of
scikit-image, flipped and shifted so no two are equal) stored in GridFS like face.create does.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from PIL import Image
from skimage import data as skdata

from consumers.extractor import CURRENT_VERSION
from consumers.face_worker import FaceWorker
from consumers.samples import Sample
from service.bootstrap import Service
from service.client import TopicReader, bus, envelope
from service.settings import Settings
from storage.faces import FaceRecord, FaceRepository
from storage.images import GridFsImageStore
from storage.mongo import connect

TARGET = "dlib-resnet-flip-v2"


def samples(n: int, engine_sample: Sample) -> list[Sample]:
    base = np.asarray(engine_sample.pixels)
    out = []
    for i in range(n):
        px = np.roll(base, shift=(i % 7) - 3, axis=1)
        out.append(Sample(px[:, ::-1] if i % 2 else px))
    return out


async def raw(engine: FaceWorker, items: list[Sample]) -> float:
    await engine.descriptor(TARGET, items[0])  # warm
    start = time.perf_counter()
    for s in items:
        await engine.descriptor(TARGET, s)
    return len(items) / (time.perf_counter() - start)


async def pipeline(settings: Settings, items: list[Sample]) -> float:
    async with Service(settings) as svc, bus(settings.amqp.url.get_secret_value(), svc.topology) as client, \
            TopicReader(settings.kafka.bootstrap, svc.topology.results_topic) as results:
        assert svc.db is not None
        db = svc.db
        account = uuid.uuid4()
        cmd = envelope("account.create", {"email": f"{account}@bench.io", "password": "pass-word-1",
                                          "organization_name": "bench", "account_id": str(account)})
        await client.publish(cmd)
        await results.wait_for(command_id=cmd["command_id"], timeout_s=60)
        faces, images = FaceRepository(db), GridFsImageStore(db)
        at = datetime.now(UTC) - timedelta(days=1)
        for s in items:
            sample_id = str(uuid.uuid4())
            await images.put(sample_id, s.to_png())
            await faces.insert(FaceRecord(uuid.uuid4(), account, None, (), (CURRENT_VERSION,), sample_id,
                                          at, at, uuid.uuid4()), {CURRENT_VERSION: bytes(512)})
        start = time.perf_counter()
        cmd = envelope("task.reextract.start", {"target_version": TARGET})
        await client.publish(cmd)
        [hit] = await results.wait_for(command_id=cmd["command_id"], timeout_s=60)
        task_id = hit["value"]["result"]["task_info"]["task_id"]
        doc = await _ended(db, task_id)
        seconds = time.perf_counter() - start
        assert doc["status"] == "done", doc
    cleanup = connect(settings.mongo.url.get_secret_value())
    await cleanup.drop_database(settings.mongo.database)
    await cleanup.close()
    return len(items) / seconds


async def _ended(db: Any, task_id: str) -> dict[str, Any]:
    """Poll the task's document until it leaves in_progress (MongoDB has no change stream here)."""
    while True:
        doc = await db.tasks.find_one({"_id": task_id})
        if doc is not None and doc["status"] != "in_progress":
            return dict(doc)
        await asyncio.sleep(0.05)  # the polling period


async def main(n: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    base = Settings()
    settings = base.model_copy(update={
        "prefix": f"bench-{tag}", "mongo": base.mongo.model_copy(update={"database": f"bench_{tag}"}),
        "http": base.http.model_copy(update={"port": 0}),
        "faces": base.faces.model_copy(update={"workers": 1})})
    photo = io.BytesIO()
    Image.fromarray(skdata.astronaut()).save(photo, format="PNG")
    async with FaceWorker(1) as engine:
        items = samples(n, await engine.sample(photo.getvalue()))
        raw_rate = await raw(engine, items)
    pipe_rate = await pipeline(settings, items)
    return {"faces": n, "raw_descriptors_per_s": round(raw_rate, 2),
            "reextract_descriptors_per_s": round(pipe_rate, 2), "ratio": round(pipe_rate / raw_rate, 3)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=96)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.faces))))
