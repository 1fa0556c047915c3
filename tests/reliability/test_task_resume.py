"""A task worker SIGKILLed in the middle of a re-extraction part: another worker resumes the task
from its checkpoint, the task completes, and the counts are exact (real processes)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from service.bootstrap import Service
from service.client import TopicReader, bus, envelope
from service.settings import Settings
from tests.e2e.tasks_support import V2, progress_events, seed_faces

FACES = 48  # three parts of 16


async def test_killed_worker_mid_part_the_task_still_completes_exactly(
        settings: Settings, processes: Any, consumer_count: Any, poll: Any) -> None:
    parts_queue = f"{settings.prefix}.task-parts"
    # The same retry delays as the worker processes (conftest.service_env), or the queues clash.
    settings = settings.model_copy(update={"amqp": settings.amqp.model_copy(
        update={"retry_delays_ms": [200, 500, 1000, 2000]})})
    async with Service(settings, frozenset({"consume", "relay"})) as svc, \
            bus(settings.amqp.url.get_secret_value(), svc.topology) as client, \
            TopicReader(settings.kafka.bootstrap, svc.topology.results_topic) as results:
        db = svc.db
        assert db is not None
        worker = processes("work", LUNA_TASKS__CONCURRENCY="1")
        await poll(lambda: consumer_count(parts_queue), timeout_s=90)

        async def call(type_: str, payload: dict[str, Any]) -> dict[str, Any]:
            cmd = envelope(type_, payload)
            await client.publish(cmd)
            [hit] = await results.wait_for(command_id=cmd["command_id"], timeout_s=60)
            assert hit["value"]["status"] == "ok", hit
            return dict(hit["value"]["result"])

        account = (await call("account.create", {"email": f"{uuid.uuid4().hex[:8]}@x.io",
                                                 "password": "pass-word-1", "organization_name": "R"}))
        faces = await seed_faces(db, account["account_id"], FACES)
        task_id = (await call("task.reextract.start", {"target_version": V2}))["task_info"]["task_id"]

        async def some_done() -> int:
            return int(await db.faces.count_documents({"reextracted_by": task_id}))

        done_at_kill = await poll(some_done, timeout_s=90, interval_s=0.02)
        worker.stop_now()  # SIGKILL, in the middle of the first part
        assert done_at_kill < FACES
        assert (await db.tasks.find_one({"_id": task_id}))["status"] == "in_progress"

        processes("work", LUNA_TASKS__CONCURRENCY="1")

        async def ended() -> dict[str, Any] | None:
            doc = await db.tasks.find_one({"_id": task_id})
            return doc if doc and doc["status"] != "in_progress" else None

        await poll(ended, timeout_s=180)
        task = await call("task.get", {"task_id": task_id})
        assert task["task_info"]["status"] == "done" and task["task_info"]["progress"] == 1
        assert task["task_detail"] == {"re-extract descriptors": FACES}
        assert task["task_info"]["error_count"] == 0
        async for doc in db.faces.find({"_id": {"$in": faces}}):
            assert doc["descriptor_versions"].count(V2) == 1
            assert doc["reextracted_by"] == [task_id]

        # A subscriber rebuilds the task from the topic alone: gap-free seq, ending done at 1.0.
        events = await progress_events(settings.kafka.bootstrap, svc.topology.task_progress_topic,
                                       task_id, "done")
        assert [e["seq"] for e in events] == list(range(len(events)))
        last = events[-1]["task"]
        assert last["task_info"]["progress"] == 1 and last["task_detail"] == task["task_detail"]
        print(f"\nkilled the worker after {done_at_kill} of {FACES} faces; {len(events)} progress events",
              json.dumps(last["task_info"]))
