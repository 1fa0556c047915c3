"""Long tasks end to end: GC of free faces and of an old descriptor version, re-extraction with the
real extractor, per-item errors, image-store failures, cancellation, fairness between accounts,
progress rebuilt from the task-progress topic alone, and the error codes of the task commands."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from consumers.extractor import CURRENT_VERSION
from service.bootstrap import Service
from service.settings import Settings
from storage.images import GridFsImageStore, ImageStore
from storage.testing import FailingImageStore
from tests.e2e.support import new_account, ok
from tests.e2e.tasks_support import V2, progress_events, seed_faces


class Failing:
    """The service's image store, wrapped so a test can make chosen samples fail."""

    def __init__(self) -> None:
        self.fail_ids: set[str] = set()
        self.stores: list[FailingImageStore] = []

    def wrap(self, inner: ImageStore) -> ImageStore:
        store = FailingImageStore(inner, fail_ids=self.fail_ids, methods=("delete", "get"))
        store.fail_ids = self.fail_ids  # shared: the test fills it after the service started
        self.stores.append(store)
        return store


@pytest.fixture
def failing() -> Failing:
    return Failing()


@pytest.fixture
async def service(settings: Settings, failing: Failing) -> AsyncIterator[Any]:
    """The service with every role, small GC slices, and an image store that can fail on purpose."""
    tasks = settings.tasks.model_copy(update={"slice_s": 0.3, "gc_batch": 10})
    s = settings.model_copy(update={"tasks": tasks})
    async with Service(s, wrap_images=failing.wrap) as svc:
        yield svc
        await svc.db.client.drop_database(svc.db.name)


async def _account(call: Any) -> str:
    return await new_account(call, "tasks")


_ok = ok


async def _gc(call: Any, account: str) -> str:
    started = await _ok(call, "task.gc.start", {"target": "account", "target_id": account})
    return str(started["task_info"]["task_id"])


async def _ended(call: Any, poll: Any, task_id: str, timeout_s: float = 60) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        task = await _ok(call, "task.get", {"task_id": task_id})
        return task if task["task_info"]["status"] != "in_progress" else None
    return dict(await poll(check, timeout_s=timeout_s))


async def test_gc_free_faces_deletes_only_old_free_faces_with_their_samples(
        call: Any, poll: Any, service: Any, settings: Settings) -> None:
    db = service.db
    account = await _account(call)
    person = (await _ok(call, "person.create", {"account_id": account}))["person_id"]
    old_free = await seed_faces(db, account, 3)
    recent = await seed_faces(db, account, 1, age_days=0.0)
    linked = await seed_faces(db, account, 1, person_id=person)
    listed = await seed_faces(db, account, 1)
    lst = (await _ok(call, "list.create", {"account_id": account, "type": "descriptors"}))["list_id"]
    await _ok(call, "list.attach", {"list_id": lst, "face_ids": listed})
    samples = {f: (await db.faces.find_one({"_id": f}))["sample_id"] for f in old_free}

    started = await _ok(call, "task.gc.start", {"target": "account", "target_id": account, "ttl_days": 1})
    assert started["task_type"] == "removing old descriptors"
    task_id = started["task_info"]["task_id"]
    task = await _ended(call, poll, task_id)

    assert task["task_info"]["status"] == "done" and task["task_info"]["progress"] == 1
    assert task["task_detail"] == {"count_delete_descriptors": 3, "count_s3_errors": 0}
    live = {d["_id"] async for d in db.faces.find({"deleted_at": None})}
    assert live == set(recent + linked + listed)
    assert await db["samples.files"].count_documents({"_id": {"$in": list(samples.values())}}) == 0
    account_stats = (await _ok(call, "account.get", {"account_id": account}))["stats"]
    assert account_stats["descriptor_count"] == 3

    events = await progress_events(settings.kafka.bootstrap, service.topology.task_progress_topic,
                                   task_id, "done")
    assert [e["seq"] for e in events] == [0, 1, 2]  # start, its one part, the end
    assert [e["task"]["task_info"]["progress"] for e in events] == [0, 1, 1]
    assert events[-1]["task"] == task  # the topic alone tells the whole story


async def test_gc_counts_image_store_failures_and_lists_them(
        call: Any, poll: Any, service: Any, failing: Failing) -> None:
    db = service.db
    account = await _account(call)
    faces = await seed_faces(db, account, 4)
    broken = (await db.faces.find_one({"_id": faces[1]}))["sample_id"]
    failing.fail_ids.add(broken)

    task_id = await _gc(call, account)
    task = await _ended(call, poll, task_id)
    assert task["task_detail"] == {"count_delete_descriptors": 4, "count_s3_errors": 1}
    assert task["task_info"]["error_count"] == 1
    errors = await _ok(call, "task.errors", {"task_id": task_id})
    assert errors["error_count"] == 1
    assert errors["errors"][0]["code"] == 10015 and errors["errors"][0]["target"] == faces[1]
    assert sum(s.failures["delete"] for s in failing.stores) == 1
    assert await db["samples.files"].count_documents({"_id": broken}) == 1  # kept, and counted


async def test_gc_descriptor_version_removes_only_that_version(call: Any, poll: Any, service: Any) -> None:
    db = service.db
    account = await _account(call)
    both = await seed_faces(db, account, 3, age_days=0, versions=(CURRENT_VERSION, V2))
    only_new = await seed_faces(db, account, 1, age_days=0, versions=(V2,))
    task_id = (await _ok(call, "task.gc.start", {"target": "all", "mode": "descriptor_version",
                                                 "version": CURRENT_VERSION}))["task_info"]["task_id"]
    task = await _ended(call, poll, task_id)
    assert task["task_detail"]["count_delete_descriptors"] == 3
    async for doc in db.faces.find({"_id": {"$in": both + only_new}}):
        assert doc["descriptor_versions"] == [V2] and list(doc["descriptors"]) == [V2]
    stats = await _ok(call, "stats.get", {})
    assert stats["descriptors"] == {V2: 4}


async def test_reextract_migrates_to_the_new_version_and_records_missing_samples(
        call: Any, code: Any, poll: Any, service: Any, settings: Settings) -> None:
    db = service.db
    account = await _account(call)
    faces = await seed_faces(db, account, 5)
    done_already = await seed_faces(db, account, 1, versions=(CURRENT_VERSION, V2))
    lost = (await db.faces.find_one({"_id": faces[0]}))["sample_id"]
    await GridFsImageStore(db).delete(lost)

    assert code(await call("task.reextract.start", {"target_version": "no-such-model"})) == 16011
    assert code(await call("task.reextract.start", {"descriptors": done_already, "target_version": V2})) == 10
    assert code(await call("task.reextract.start", {"descriptors": [str(uuid.uuid4())]})) == 40002

    started = await _ok(call, "task.reextract.start", {"target_version": V2})
    task_id = started["task_info"]["task_id"]
    assert started["task_info"]["target"] == "all"
    task = await _ended(call, poll, task_id)
    assert task["task_info"]["status"] == "done"
    assert task["task_detail"] == {"re-extract descriptors": 4}
    assert task["task_info"]["error_count"] == 1
    errors = (await _ok(call, "task.errors", {"task_id": task_id}))["errors"]
    assert [(e["code"], e["target"]) for e in errors] == [(13003, faces[0])]
    async for doc in db.faces.find({"_id": {"$in": faces[1:]}}):
        assert set(doc["descriptor_versions"]) == {CURRENT_VERSION, V2}
        assert len(doc["descriptors"][V2]) == 512 and doc["reextracted_by"] == [task_id]
    untouched = await db.faces.find_one({"_id": done_already[0]})
    assert "reextracted_by" not in untouched
    events = await progress_events(settings.kafka.bootstrap, service.topology.task_progress_topic,
                                   task_id, "done")
    assert [e["seq"] for e in events] == list(range(len(events))) and len(events) >= 3


async def _barrier(call: Any, poll: Any, db: Any) -> None:
    """A task of another account, done: the one worker has finished every part queued before it."""
    other = await _account(call)
    await seed_faces(db, other, 1)
    started = await _ok(call, "task.gc.start", {"target": "account", "target_id": other})
    await _ended(call, poll, started["task_info"]["task_id"])


async def test_cancel_stops_workers_at_their_next_check_and_nothing_changes_after(
        call: Any, code: Any, poll: Any, service: Any, settings: Settings) -> None:
    db = service.db
    account = await _account(call)
    await seed_faces(db, account, 400)
    task_id = await _gc(call, account)

    async def some_deleted() -> bool:
        return await db.faces.count_documents({"account_id": account, "deleted_at": {"$ne": None}}) > 0
    await poll(some_deleted)
    cancelled = await _ok(call, "task.cancel", {"task_id": task_id})
    assert cancelled["task_info"]["status"] == "cancelled"
    assert cancelled["task_info"]["duration"] != "in progress"

    await _barrier(call, poll, db)
    deleted = await db.faces.count_documents({"account_id": account, "deleted_at": {"$ne": None}})
    assert 0 < deleted < 400  # stopped mid-way, nothing rolled back
    await _barrier(call, poll, db)
    assert await db.faces.count_documents({"account_id": account, "deleted_at": {"$ne": None}}) == deleted
    assert await _ok(call, "task.get", {"task_id": task_id}) == cancelled
    assert await _ok(call, "task.cancel", {"task_id": task_id}) == cancelled  # an ended task: unchanged
    assert code(await call("task.cancel", {"task_id": str(uuid.uuid4())})) == 16009
    events = await progress_events(settings.kafka.bootstrap, service.topology.task_progress_topic,
                                   task_id, "cancelled")
    assert [e["seq"] for e in events] == [0, 1] and events[-1]["task"] == cancelled


async def test_blocked_account_cannot_start_a_task(call: Any, code: Any, service: Any) -> None:
    account = await _account(call)
    faces = await seed_faces(service.db, account, 1)
    await _ok(call, "account.block", {"account_id": account})
    assert code(await call("task.gc.start", {"target": "account", "target_id": account})) == 11004
    assert code(await call("task.reextract.start", {"descriptors": faces, "target_version": V2})) == 11004
    assert code(await call("task.gc.start", {"target": "account", "target_id": str(uuid.uuid4())})) == 11002
    assert code(await call("task.get", {"task_id": str(uuid.uuid4())})) == 16009
    assert code(await call("task.gc.start", {"target": "account"})) == 12022


async def test_small_account_task_finishes_before_the_big_one(call: Any, poll: Any, service: Any) -> None:
    db = service.db
    big, small = await _account(call), await _account(call)
    await seed_faces(db, big, 200)
    await seed_faces(db, small, 2)
    big_task = await _gc(call, big)
    small_task = await _gc(call, small)
    small_done = await _ended(call, poll, small_task)
    big_now = await _ok(call, "task.get", {"task_id": big_task})
    assert big_now["task_info"]["status"] == "in_progress"  # the big one is still going
    big_done = await _ended(call, poll, big_task, timeout_s=120)
    assert small_done["task_detail"]["count_delete_descriptors"] == 2
    assert big_done["task_detail"]["count_delete_descriptors"] == 200
    assert small_done["task_info"]["duration"] < big_done["task_info"]["duration"]


async def test_task_list_newest_first_with_filters(call: Any, poll: Any, service: Any) -> None:
    account = await _account(call)
    first = await _gc(call, account)
    await _ended(call, poll, first)
    second = (await _ok(call, "task.gc.start", {"target": "all"}))["task_info"]["task_id"]
    await _ended(call, poll, second)
    page = await _ok(call, "task.list", {"task_type": "removing old descriptors"})
    assert [t["task_info"]["task_id"] for t in page["tasks"]] == [second, first]
    assert page["task_count"] == 2
    assert (await _ok(call, "task.list", {"task_type": "re-extract descriptors"}))["task_count"] == 0
    assert (await _ok(call, "task.list", {"status": "done"}))["task_count"] == 2
