"""Long tasks in MongoDB: the task, its parts and its per-item errors.

A task document: `_id`, `kind` (`gc` or `reextract`), `task_type`, `target`, `target_id`, `params`
(what the start command asked, with the GC cutoff fixed at the start), `status`, `parts` (how many),
`part_order` (the ids of the parts done, in the order they were done), `counters` (summed from each
part when it is done), `start_time`, `end_time`, `created_by`.

Why `part_order`. A part is done by one single-document update that adds its id to `part_order`
only if it is not there yet and the task is still `in_progress`. That update is the part's one
effect on the task, and the position of the id in the array is the `seq` of the part's progress
event: a redelivered part finds its id there and re-emits the same event id. No counter is kept
that a crash between two writes could leave wrong. After the status leaves `in_progress`, nothing
changes the array or the counters again, so the final event is a function of the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import Duplicate, translated
from storage.mongo import Doc

IN_PROGRESS = "in_progress"


@dataclass(frozen=True)
class TaskRecord:
    """A task as stored."""

    task_id: UUID
    kind: str
    task_type: str
    target: str
    target_id: str | None
    params: dict[str, Any]
    status: str
    parts: int | None
    part_order: tuple[str, ...]
    counters: dict[str, int]
    start_time: datetime
    end_time: datetime | None
    created_by: UUID
    ended_by: UUID | None = None  # the command or part that ended it


@dataclass(frozen=True)
class PartRecord:
    """One part: all the free faces of one account (GC), or a batch of face ids (re-extract)."""

    part_id: UUID
    task_id: UUID
    index: int
    account_id: UUID | None
    face_ids: tuple[UUID, ...] = field(default=())


@dataclass(frozen=True)
class TaskErrorRecord:
    """A per-item error; its id derives from the part and the item, so a redelivery records it once."""

    error_id: str
    task_id: UUID
    part_id: UUID | None
    code: int
    message: str
    error_time: datetime
    target: str


class TaskRepository:
    """The `tasks`, `task_parts` and `task_errors` collections."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._tasks = db.tasks
        self._parts = db.task_parts
        self._errors = db.task_errors

    async def insert(self, rec: TaskRecord) -> TaskRecord:
        """Insert, or return the task this command created before (same id, same creator)."""
        try:
            async with translated():
                await self._tasks.insert_one(_task_doc(rec))
        except Duplicate:
            found = await self.get(rec.task_id)
            if found is None or found.created_by != rec.created_by:
                raise
            return found
        return rec

    async def get(self, task_id: UUID) -> TaskRecord | None:
        async with translated():
            doc = await self._tasks.find_one({"_id": str(task_id)})
        return None if doc is None else _task(doc)

    async def page(self, skip: int, limit: int, task_type: str | None,
                   status: str | None) -> tuple[list[TaskRecord], int]:
        """Newest first."""
        flt: Doc = {}
        if task_type is not None:
            flt["task_type"] = task_type
        if status is not None:
            flt["status"] = status
        async with translated():
            docs = await (self._tasks.find(flt).sort([("start_time", -1), ("_id", 1)])
                          .skip(skip).limit(limit).to_list())
            total = await self._tasks.count_documents(flt)
        return [_task(d) for d in docs], total

    async def plan(self, task_id: UUID, parts: list[PartRecord]) -> None:
        """Store the parts (replacing what an interrupted earlier attempt wrote), then their count:
        a task with `parts` set has every part document."""
        async with translated():
            for p in parts:
                await self._parts.replace_one({"_id": str(p.part_id)}, _part_doc(p), upsert=True)
            await self._tasks.update_one({"_id": str(task_id), "parts": None},
                                         {"$set": {"parts": len(parts)}})

    async def parts_of(self, task_id: UUID) -> list[PartRecord]:
        async with translated():
            docs = await self._parts.find({"task_id": str(task_id)}).sort("index", 1).to_list()
        return [_part(d) for d in docs]

    async def part(self, part_id: UUID) -> PartRecord | None:
        async with translated():
            doc = await self._parts.find_one({"_id": str(part_id)})
        return None if doc is None else _part(doc)

    async def complete_part(self, task_id: UUID, part_id: UUID,
                            counters: dict[str, int]) -> TaskRecord | None:
        """The part's one effect on the task (see the module docstring): None when the part was
        done before, or the task is no longer running."""
        inc = {f"counters.{k}": v for k, v in counters.items()}
        async with translated():
            doc = await self._tasks.find_one_and_update(
                {"_id": str(task_id), "status": IN_PROGRESS, "part_order": {"$ne": str(part_id)}},
                {"$push": {"part_order": str(part_id)}, "$inc": inc}, return_document=ReturnDocument.AFTER)
        return None if doc is None else _task(doc)

    async def finish(self, task_id: UUID, status: str, at: datetime, by: UUID) -> TaskRecord | None:
        """Move a running task to its final status; None when it was not running."""
        async with translated():
            doc = await self._tasks.find_one_and_update(
                {"_id": str(task_id), "status": IN_PROGRESS},
                {"$set": {"status": status, "end_time": at, "ended_by": str(by)}},
                return_document=ReturnDocument.AFTER)
        return None if doc is None else _task(doc)

    async def add_error(self, rec: TaskErrorRecord) -> None:
        """Record once (a redelivered part finds its own error there)."""
        try:
            async with translated():
                await self._errors.insert_one({
                    "_id": rec.error_id, "task_id": str(rec.task_id),
                    "part_id": None if rec.part_id is None else str(rec.part_id), "code": rec.code,
                    "message": rec.message, "error_time": rec.error_time, "target": rec.target})
        except Duplicate:
            return

    async def error_count(self, part_id: UUID, code: int | None = None) -> int:
        flt: Doc = {"part_id": str(part_id)}
        if code is not None:
            flt["code"] = code
        async with translated():
            return await self._errors.count_documents(flt)

    async def errors(self, task_id: UUID, skip: int, limit: int) -> tuple[list[TaskErrorRecord], int]:
        """The task's errors, oldest first."""
        flt = {"task_id": str(task_id)}
        async with translated():
            docs = await (self._errors.find(flt).sort([("error_time", 1), ("_id", 1)])
                          .skip(skip).limit(limit).to_list())
            total = await self._errors.count_documents(flt)
        return [_error(d) for d in docs], total


def _task_doc(rec: TaskRecord) -> Doc:
    return {"_id": str(rec.task_id), "kind": rec.kind, "task_type": rec.task_type, "target": rec.target,
            "target_id": rec.target_id, "params": rec.params, "status": rec.status, "parts": rec.parts,
            "part_order": list(rec.part_order), "counters": rec.counters, "start_time": rec.start_time,
            "end_time": rec.end_time, "created_by": str(rec.created_by)}


def _task(d: Doc) -> TaskRecord:
    return TaskRecord(UUID(d["_id"]), d["kind"], d["task_type"], d["target"], d.get("target_id"),
                      dict(d.get("params") or {}), d["status"], d.get("parts"),
                      tuple(d.get("part_order") or ()),
                      {k: int(v) for k, v in (d.get("counters") or {}).items()}, d["start_time"],
                      d.get("end_time"), UUID(d["created_by"]),
                      None if d.get("ended_by") is None else UUID(d["ended_by"]))


def _part_doc(p: PartRecord) -> Doc:
    return {"_id": str(p.part_id), "task_id": str(p.task_id), "index": p.index,
            "account_id": None if p.account_id is None else str(p.account_id),
            "face_ids": [str(i) for i in p.face_ids]}


def _part(d: Doc) -> PartRecord:
    account = d.get("account_id")
    return PartRecord(UUID(d["_id"]), UUID(d["task_id"]), int(d["index"]),
                      None if account is None else UUID(account),
                      tuple(UUID(i) for i in d.get("face_ids", [])))


def _error(d: Doc) -> TaskErrorRecord:
    part = d.get("part_id")
    return TaskErrorRecord(d["_id"], UUID(d["task_id"]), None if part is None else UUID(part), d["code"],
                           d["message"], d["error_time"], d["target"])
