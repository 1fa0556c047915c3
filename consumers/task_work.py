"""Doing one part of a long task: the task worker's logic, with no broker in sight.

A part runs in small steps whose effects are their own checkpoint (see `storage.task_faces`): a
redelivered part (its worker was killed) skips what is done and finishes the rest. A GC part stops
after `slice_s` and asks to be queued again behind the other tasks' parts, so a huge account takes
turns with the small ones; re-extraction parts are small batches anyway. When the part is done,
its one effect on the task is recorded (`storage.tasks`), its progress event goes to the outbox,
and the part `window` places further is queued: each task has at most `window` part messages
waiting, so tasks started later are not queued behind all the parts of an earlier one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from consumers.descriptors import pack
from consumers.extractor import get_extractor
from consumers.ports_tasks import PartQueue, TaskFaceStore, TaskStore
from consumers.samples import Sample
from consumers.task_plan import part_id as nth_part
from consumers.task_view import final_seq, progress_entry
from contracts import ids
from contracts.errors import ErrorCode, LunaError, PermanentError, TransientError
from storage.images import ImageStore
from storage.outbox import OutboxEntry
from storage.tasks import IN_PROGRESS, PartRecord, TaskErrorRecord, TaskRecord

if TYPE_CHECKING:
    from consumers.face_worker import FaceEngine


class BadPart(PermanentError):
    """A part message that names no part of a known task (30000)."""

    def __init__(self, detail: str) -> None:
        super().__init__(ErrorCode.BAD_TASK_PART, detail)


class Outbox(Protocol):
    """The outbox as the worker writes it."""

    async def add(self, entries: list[OutboxEntry]) -> None: ...


@dataclass(frozen=True)
class WorkDeps:
    """What a task worker uses, built once by the composition root."""

    tasks: TaskStore
    faces: TaskFaceStore
    images: ImageStore
    engine: FaceEngine
    outbox: Outbox
    parts: PartQueue
    on_outbox: Callable[[], None]
    window: int = 2
    slice_s: float = 2.0
    gc_batch: int = 50
    concurrency: int = 2


class TaskWorker:
    """Runs parts; `run` returns "done", "again" (queue it again) or "skipped"."""

    def __init__(self, deps: WorkDeps) -> None:
        self._d = deps

    async def run(self, task_id: UUID, part_id: UUID) -> str:
        d = self._d
        task = await d.tasks.get(task_id)
        part = await d.tasks.part(part_id)
        if task is None or part is None or part.task_id != task_id:
            if task is not None:
                await self._error(task, None, f"part:{part_id}", ErrorCode.BAD_TASK_PART,
                                  f"part {part_id} is not a part of task {task_id}")
            raise BadPart(f"no part {part_id} of a task {task_id}")
        if str(part_id) in task.part_order:  # done before: its event and the next part, again
            await self._after(task, part)
            return "skipped"
        if task.status != IN_PROGRESS:
            if task.ended_by == part_id:  # this part failed the task: its final event, again
                await self._final(task)
            return "skipped"
        try:
            finished = await (self._gc(task, part) if task.kind == "gc" else self._reextract(task, part))
        except PermanentError as exc:  # the task cannot go on (e.g. its extractor is gone)
            await self._fail(task, part, exc)
            return "done"
        if not finished:
            return "again" if await self._running(task_id) else "skipped"
        done = await d.tasks.complete_part(task_id, part_id, await self._counts(task, part))
        if done is None:  # cancelled meanwhile, or a duplicate message got here first
            done = await d.tasks.get(task_id)
            if done is None or str(part_id) not in done.part_order:
                return "skipped"
        await self._after(done, part)
        return "done"

    async def _after(self, task: TaskRecord, part: PartRecord) -> None:
        """The part's progress event; the task's end (and its event) after its last part; else the
        part `window` places on."""
        d = self._d
        now = datetime.now(UTC)
        entries = [progress_entry(task, task.part_order.index(str(part.part_id)) + 1, now)]
        ended: TaskRecord | None = None
        if task.status == IN_PROGRESS and len(task.part_order) == task.parts:
            ended = (await d.tasks.finish(task.task_id, "done", now, part.part_id)
                     or await d.tasks.get(task.task_id))
        elif task.status != IN_PROGRESS and task.ended_by == part.part_id:
            ended = task
        if ended is not None and ended.status != IN_PROGRESS and ended.end_time is not None:
            entries.append(progress_entry(ended, final_seq(ended), ended.end_time, final=True))
        await d.outbox.add(entries)
        d.on_outbox()
        nxt = part.index + d.window
        if task.status == IN_PROGRESS and task.parts is not None and nxt < task.parts:
            await d.parts.publish(task.task_id, [nth_part(task.task_id, nxt)])

    async def _counts(self, task: TaskRecord, part: PartRecord) -> dict[str, int]:
        """The part's counts, from the marks its writes left (exact after any redelivery)."""
        d = self._d
        counts = {"errors": await d.tasks.error_count(part.part_id)}
        if task.kind == "reextract":
            counts["reextracted"] = await d.faces.reextracted(list(part.face_ids), task.task_id)
        elif task.params.get("mode") == "descriptor_version":
            assert part.account_id is not None
            counts["deleted"] = await d.faces.drop_version(part.account_id, str(task.params["version"]),
                                                           part.part_id)
        else:
            assert part.account_id is not None
            counts["deleted"] = await d.faces.collected(part.account_id, part.part_id)
            counts["s3_errors"] = await d.tasks.error_count(part.part_id, int(ErrorCode.STORAGE_FAILURE))
        return counts

    async def _gc(self, task: TaskRecord, part: PartRecord) -> bool:
        """Collect the account's old free faces until none is left (True) or the slice is over."""
        d = self._d
        assert part.account_id is not None
        if task.params.get("mode") == "descriptor_version":
            return True  # one update of the account's faces, made (again) by `_counts`
        for face_id, sample_id in await d.faces.samples_pending(part.account_id, part.part_id):
            await self._drop_sample(task, part, face_id, sample_id)
        cutoff: datetime = task.params["cutoff"]
        deadline = time.monotonic() + d.slice_s
        while await self._running(task.task_id):
            batch = await d.faces.free_old(part.account_id, cutoff, d.gc_batch)
            if not batch:
                return True
            for face_id in batch:
                collected = await d.faces.collect(face_id, part.account_id, cutoff, part.part_id,
                                                  datetime.now(UTC))
                if collected is not None:
                    await self._drop_sample(task, part, face_id, collected)
            if time.monotonic() > deadline:
                return False
        return False

    async def _drop_sample(self, task: TaskRecord, part: PartRecord, face_id: UUID, sample_id: str) -> None:
        """Delete a collected face's sample; an image-store failure is counted and recorded."""
        if sample_id:
            try:
                await self._d.images.delete(sample_id)
            except LunaError as exc:
                await self._error(task, part, str(face_id), ErrorCode.STORAGE_FAILURE,
                                  f"image store: sample {sample_id}: {exc}")
        await self._d.faces.sample_done(face_id)

    async def _reextract(self, task: TaskRecord, part: PartRecord) -> bool:
        """Extract the target version for each face of the batch that lacks it, a few at a time so
        the extractor never waits for a sample to load."""
        version = str(task.params["target_version"])
        get_extractor(version)
        gate = asyncio.Semaphore(self._d.concurrency)

        async def one(face_id: UUID) -> None:
            async with gate:
                if await self._running(task.task_id):
                    await self._reextract_face(task, part, face_id, version)

        await asyncio.gather(*(one(f) for f in part.face_ids))
        return await self._running(task.task_id)

    async def _reextract_face(self, task: TaskRecord, part: PartRecord, face_id: UUID, version: str) -> None:
        d = self._d
        face = await d.faces.face(face_id)
        if face is None or version in face.get("descriptor_versions", []):
            return  # deleted meanwhile, or done already: counted as done
        try:
            sample = Sample.from_png(await d.images.get(str(face.get("sample_id") or "")))
        except (PermanentError, TransientError) as exc:
            code = exc.code if isinstance(exc, PermanentError) else ErrorCode.STORAGE_FAILURE
            await self._error(task, part, str(face_id), code, f"face {face_id}: {exc.detail}")
            return
        try:
            descriptor = await d.engine.descriptor(version, sample)
        except PermanentError as exc:
            if exc.code == ErrorCode.EXTRACTOR_UNAVAILABLE:
                raise
            await self._error(task, part, str(face_id), exc.code, f"face {face_id}: {exc.detail}")
            return
        await d.faces.set_descriptor(face_id, version, pack(descriptor), task.task_id)

    async def _running(self, task_id: UUID) -> bool:
        """The cancellation check, between steps."""
        rec = await self._d.tasks.get(task_id)
        return rec is not None and rec.status == IN_PROGRESS

    async def _fail(self, task: TaskRecord, part: PartRecord, exc: PermanentError) -> None:
        await self._error(task, part, f"part:{part.part_id}", exc.code, exc.detail)
        ended = await self._d.tasks.finish(task.task_id, "failed", datetime.now(UTC), part.part_id)
        if ended is not None:
            await self._final(ended)

    async def _final(self, ended: TaskRecord) -> None:
        if ended.end_time is not None:
            await self._d.outbox.add([progress_entry(ended, final_seq(ended), ended.end_time, final=True)])
            self._d.on_outbox()

    async def _error(self, task: TaskRecord, part: PartRecord | None, target: str, code: ErrorCode | int,
                     message: str) -> None:
        scope = part.part_id if part is not None else task.task_id
        await self._d.tasks.add_error(TaskErrorRecord(
            str(ids.derive(scope, f"error:{target}", int(code))), task.task_id,
            None if part is None else part.part_id, int(code), message[:1000], datetime.now(UTC), target))
