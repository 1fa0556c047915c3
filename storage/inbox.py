"""The inbox: one record per processed command, holding its result event id.

The record is written last, after the state change and the outbox entries, so its presence means
"fully done": a redelivered command that finds it only re-emits its stored result.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import Duplicate, translated
from storage.mongo import Doc


@dataclass(frozen=True)
class InboxRecord:
    """A processed command."""

    command_id: UUID
    type: str
    status: str
    result_event_id: UUID
    processed_at: datetime


class Inbox:
    """The `inbox` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db.inbox

    async def get(self, command_id: UUID) -> InboxRecord | None:
        doc = await self._col.find_one({"_id": str(command_id)})
        if doc is None:
            return None
        return InboxRecord(UUID(doc["_id"]), doc["type"], doc["status"], UUID(doc["result_event_id"]),
                           doc["processed_at"])

    async def record(self, rec: InboxRecord) -> None:
        """Record once. Two deliveries of one command racing to the end (two consumers) both
        succeed with one record: the loser's duplicate key means the record is there."""
        with contextlib.suppress(Duplicate):
            async with translated():
                await self._col.insert_one({"_id": str(rec.command_id), "type": rec.type,
                                            "status": rec.status,
                                            "result_event_id": str(rec.result_event_id),
                                            "processed_at": rec.processed_at})
