"""A stored task as the contract shows it (`task`), and its `task_info` progress events.

Event `seq` of a task: 0 when it starts, k when its k-th part is done (the part's position in
`part_order`), and `len(part_order) + 1` when it ends (done, cancelled or failed). The event id
derives from the task id and `seq`, so whoever writes an event again (a redelivered part, a
redelivered cancel) writes the same outbox entry, which the outbox keeps once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import ids
from contracts import tasks as c
from storage.outbox import OutboxEntry
from storage.tasks import IN_PROGRESS, TaskRecord

STREAM = "task-progress"


def task_model(rec: TaskRecord, seq: int | None = None) -> c.Task:
    """The `task` as stored now; with the `seq` of a start or part event, the task as of that event
    (still in progress, `seq` parts done)."""
    status, end = (rec.status, rec.end_time) if seq is None else (IN_PROGRESS, None)
    done = len(rec.part_order) if seq is None else seq
    # A task without parts is at 0 until it ends, then at 1.
    progress = min(done / rec.parts, 1.0) if rec.parts else float(status != IN_PROGRESS)
    duration: float | str = "in progress"
    if end is not None:
        duration = round((end - rec.start_time).total_seconds(), 3)
    info = c.TaskInfo(task_id=rec.task_id, target=rec.target, target_id=rec.target_id,
                      status=status, progress=progress,
                      error_count=rec.counters.get("errors", 0), start_time=rec.start_time,
                      duration=duration)
    detail: c.GcDetails | c.ReextractDetails
    if rec.kind == "gc":
        detail = c.GcDetails(count_delete_descriptors=rec.counters.get("deleted", 0),
                             count_s3_errors=rec.counters.get("s3_errors", 0))
    else:
        detail = c.ReextractDetails(reextracted=rec.counters.get("reextracted", 0))
    return c.Task(task_info=info, task_type=rec.task_type, task_detail=detail)


def final_seq(rec: TaskRecord) -> int:
    return len(rec.part_order) + 1


def progress_entry(rec: TaskRecord, seq: int, at: datetime, final: bool = False) -> OutboxEntry:
    """The outbox entry of the task's `seq`-th `task_info` event, keyed by task id; `final` for the
    event of its end."""
    event_id = ids.derive(rec.task_id, "task_info", seq)
    event = c.TaskInfoEvent(event_id=event_id, task_id=rec.task_id, seq=seq,
                            task=task_model(rec, None if final else seq), occurred_at=at)
    headers = (("event_id", str(event_id)), ("type", "task_info"), ("task_id", str(rec.task_id)),
               ("seq", str(seq)), ("content-type", "application/json"))
    return OutboxEntry(event_id=event_id, stream=STREAM, key=str(rec.task_id),
                       value=event.model_dump_json().encode(), headers=headers, command_id=rec.task_id,
                       kind="progress")


def summary(rec: TaskRecord) -> dict[str, Any]:
    """The task as a domain-event body."""
    return task_model(rec).model_dump(mode="json", by_alias=True)
