"""Task commands. Starting a task creates the task and its parts, queues the first part messages
and is answered at once; task workers (`consumers.task_work`) do the parts.

Idempotent start: the task id derives from the command id; a redelivery finds its task (and, once
planned, its parts) and queues the same part messages again, which workers take as duplicates.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from consumers.extractor import CURRENT_VERSION, get_extractor
from consumers.handlers.guards import active_account, skip
from consumers.handlers.objects import stamp, unique
from consumers.ports import Context, Deps, Event, Handled
from consumers.task_plan import gc_parts, reextract_parts
from consumers.task_view import final_seq, progress_entry, summary, task_model
from contracts import tasks as c
from contracts.errors import ErrorCode, PermanentError
from storage.tasks import IN_PROGRESS, TaskErrorRecord, TaskRecord

GC = "removing old descriptors"
REEXTRACT = "re-extract descriptors"


async def start_gc(cmd: c.TaskGcStart, ctx: Context, deps: Deps) -> Handled:
    """GC of free faces older than the TTL, or of the descriptors of an old version: one part per
    account (every live, unblocked account for target `all`)."""
    if cmd.target_id is not None:
        await active_account(deps, cmd.target_id)
    at = stamp(ctx)
    params = {"mode": cmd.mode, "version": cmd.version, "ttl_days": cmd.ttl_days,
              "cutoff": at - timedelta(days=cmd.ttl_days)}
    rec = await deps.tasks.insert(_new(ctx, "gc", GC, cmd.target, cmd.target_id, params))
    if rec.parts is None:
        accounts = [cmd.target_id] if cmd.target_id is not None else await deps.task_faces.active_accounts()
        await deps.tasks.plan(rec.task_id, gc_parts(rec.task_id, accounts))
    return await _launch(rec.task_id, deps, cmd.target_id)


async def start_reextract(cmd: c.TaskReextractStart, ctx: Context, deps: Deps) -> Handled:
    """Re-extraction of the chosen faces (all faces of unblocked accounts by default) that lack a
    descriptor of the target version, in batches of face ids, interleaved across accounts."""
    version = cmd.target_version or CURRENT_VERSION
    get_extractor(version)  # 16011
    face_ids = unique(cmd.descriptors) if cmd.descriptors is not None else None
    accounts = None if face_ids is not None else await deps.task_faces.active_accounts()
    task_id = ctx.new_id("task")
    if await deps.tasks.get(task_id) is None:  # else our earlier attempt checked, before it planned
        if face_ids is not None:
            await _check_faces(deps, face_ids)
        if not await deps.task_faces.lacking(version, face_ids, accounts):
            raise PermanentError(ErrorCode.REEXTRACT_SAME_VERSION,
                                 f"every chosen face already has a {version} descriptor")
    target = "descriptors" if face_ids is not None else "all"
    params = {"target_version": version}
    rec = await deps.tasks.insert(_new(ctx, "reextract", REEXTRACT, target, None, params))
    if rec.parts is None:
        lacking = await deps.task_faces.lacking(version, face_ids, accounts)
        await deps.tasks.plan(rec.task_id, reextract_parts(rec.task_id, lacking))
    return await _launch(rec.task_id, deps, None)


async def _check_faces(deps: Deps, face_ids: list[UUID]) -> None:
    """Every chosen face exists (40002) and its account is not blocked (11004)."""
    owners = await deps.task_faces.owners(face_ids)
    missing = [i for i in face_ids if i not in owners]
    if missing:
        raise PermanentError(ErrorCode.FACE_NOT_FOUND, f"face {missing[0]} not found")
    for account_id in sorted(set(owners.values())):
        await active_account(deps, account_id)


def _new(ctx: Context, kind: str, task_type: str, target: str, target_id: UUID | None,
         params: dict[str, Any]) -> TaskRecord:
    target_text = None if target_id is None else str(target_id)
    return TaskRecord(ctx.new_id("task"), kind, task_type, target, target_text, params, IN_PROGRESS,
                      None, (), {}, stamp(ctx), None, ctx.command_id)


async def _launch(task_id: UUID, deps: Deps, account_id: UUID | None) -> Handled:
    """Queue the first part messages (or end a task without parts at once); answer with the task
    and its start event (seq 0)."""
    rec = await _task(deps, task_id)
    records = [progress_entry(rec, 0, rec.start_time)]
    parts = await deps.tasks.parts_of(task_id)
    if not parts:
        rec = (await deps.tasks.finish(task_id, "done", rec.start_time, rec.created_by)
               or await _task(deps, task_id))
        records.append(progress_entry(rec, final_seq(rec), rec.start_time, final=True))
    elif rec.status == IN_PROGRESS:
        await deps.parts.publish(task_id, [p.part_id for p in parts[:deps.task_window]])
    return Handled(result=task_model(rec), key=account_id or task_id, records=records,
                   events=[Event("task.started", account_id, summary(rec))])


async def _task(deps: Deps, task_id: UUID) -> TaskRecord:
    rec = await deps.tasks.get(task_id)
    if rec is None:
        raise PermanentError(ErrorCode.TASK_NOT_FOUND, f"task {task_id} not found")
    return rec


async def get_task(cmd: c.TaskGet, ctx: Context, deps: Deps) -> Handled:
    return Handled(result=task_model(await _task(deps, cmd.task_id)), key=cmd.task_id)


async def list_tasks(cmd: c.TaskList, ctx: Context, deps: Deps) -> Handled:
    """Newest first."""
    recs, total = await deps.tasks.page(skip(cmd.page, cmd.page_size), cmd.page_size, cmd.task_type,
                                        cmd.status)
    return Handled(result=c.TaskPage(tasks=[task_model(r) for r in recs], task_count=total))


async def task_errors(cmd: c.TaskErrors, ctx: Context, deps: Deps) -> Handled:
    """Per-item errors so far, oldest first (listable while the task goes on)."""
    await _task(deps, cmd.task_id)
    recs, total = await deps.tasks.errors(cmd.task_id, skip(cmd.page, cmd.page_size), cmd.page_size)
    page = c.TaskErrorPage(errors=[_error(r) for r in recs], error_count=total)
    return Handled(result=page, key=cmd.task_id)


def _error(r: TaskErrorRecord) -> c.TaskError:
    return c.TaskError(code=r.code, message=r.message, error_time=r.error_time, target=r.target)


async def cancel_task(cmd: c.TaskCancel, ctx: Context, deps: Deps) -> Handled:
    """Stop a running task: workers see it at their next check; nothing is rolled back. A task that
    has ended is returned unchanged."""
    rec = await _task(deps, cmd.task_id)
    if rec.status == IN_PROGRESS:
        rec = await deps.tasks.finish(cmd.task_id, "cancelled", stamp(ctx), ctx.command_id) \
            or await _task(deps, cmd.task_id)
    records, events = [], []
    if rec.ended_by == ctx.command_id and rec.end_time is not None:  # again on a redelivery: the same entry
        records.append(progress_entry(rec, final_seq(rec), rec.end_time, final=True))
        events.append(Event("task.cancelled", None, summary(rec)))
    return Handled(result=task_model(rec), key=cmd.task_id, records=records, events=events)
