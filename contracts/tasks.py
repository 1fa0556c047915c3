"""Long-task commands, the `task_info` / `task` objects and the `task_info` progress event."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from contracts.base import Inbound, Outbound, Paged, UtcDatetime

TaskStatus = Literal["in_progress", "done", "cancelled", "failed"]
TaskType = Literal["removing old descriptors", "re-extract descriptors"]


class TaskGcStart(Inbound):
    """`task.gc.start`: remove free faces older than `ttl_days`, or descriptors of an old version."""

    target: Literal["all", "account"]
    target_id: UUID | None = None
    mode: Literal["free_faces", "descriptor_version"] = "free_faces"
    version: str | None = Field(default=None, min_length=1, max_length=64)
    ttl_days: int = Field(default=1, ge=0, le=36500)

    @model_validator(mode="after")
    def _consistent(self) -> TaskGcStart:
        if (self.target == "account") != (self.target_id is not None):
            raise ValueError("target_id is required for target 'account' and only for it")
        if (self.mode == "descriptor_version") != (self.version is not None):
            raise ValueError("version is required for mode 'descriptor_version' and only for it")
        return self


class TaskReextractStart(Inbound):
    """`task.reextract.start`: extract descriptors of `target_version` (default: the current one)."""

    descriptors: list[UUID] | None = Field(default=None, max_length=100_000)
    target_version: str | None = Field(default=None, min_length=1, max_length=64)


class TaskGet(Inbound):
    """`task.get`."""

    task_id: UUID


class TaskList(Paged):
    """`task.list`: newest first."""

    task_type: TaskType | None = None
    status: TaskStatus | None = None


class TaskErrors(Paged):
    """`task.errors`: per-item errors recorded while the task runs."""

    task_id: UUID


class TaskCancel(Inbound):
    """`task.cancel`: workers stop at their next check; cancelling a finished task changes nothing."""

    task_id: UUID


class TaskInfo(Outbound):
    """`task_info`: `duration` is seconds, or "in progress" until the task ends."""

    task_id: UUID
    target: Literal["all", "account", "descriptors"]
    target_id: str | None
    status: TaskStatus
    progress: float = Field(ge=0, le=1)
    error_count: int
    start_time: datetime
    duration: float | Literal["in progress"]


class GcDetails(Outbound):
    """`taskGCOldDescriptorsDetails`; `count_s3_errors` counts image-store failures."""

    count_delete_descriptors: int
    count_s3_errors: int


class ReextractDetails(Outbound):
    """`taskReextractDetails`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              serialize_by_alias=True)

    reextracted: int = Field(alias="re-extract descriptors")


class Task(Outbound):
    """`task`."""

    task_info: TaskInfo
    task_type: TaskType
    task_detail: GcDetails | ReextractDetails


class TaskPage(Outbound):
    """The result of `task.list`."""

    tasks: list[Task]
    task_count: int


class TaskError(Outbound):
    """One per-item error of a task."""

    code: int
    message: str
    error_time: datetime
    target: str


class TaskErrorPage(Outbound):
    """The result of `task.errors`."""

    errors: list[TaskError]
    error_count: int


class TaskInfoEvent(Outbound):
    """On `luna-admin.task-progress`, keyed by task id: `seq` grows by one per event of a task, so a
    subscriber can rebuild progress and detect gaps from the topic alone."""

    event_id: UUID
    type: Literal["task_info"] = "task_info"
    task_id: UUID
    seq: int = Field(ge=0)
    task: Task
    occurred_at: UtcDatetime
