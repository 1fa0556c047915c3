"""Dead-lettered messages, kept in MongoDB so they can be listed, filtered and replayed.

The service drains the dead-letter queue into this collection (insert first, then ack), so nothing
is lost in between and `dlq.list` never has to disturb a queue to look into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import translated
from storage.mongo import Doc


@dataclass(frozen=True)
class DeadLetterRecord:
    """One dead-lettered message with its history."""

    message_id: str
    queue: str
    routing_key: str
    reason: str
    attempts: int
    first_failure: datetime | None
    last_failure: datetime | None
    body: bytes
    headers: dict[str, Any]  # JSON-safe values only
    properties: dict[str, Any]


class DeadLetterStore:
    """The `dead_letters` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db.dead_letters

    async def add(self, rec: DeadLetterRecord, at: datetime) -> None:
        """Upsert by message id: a message dead-lettered again (after a failed replay) is one entry
        with its latest history, waiting again."""
        doc = {"queue": rec.queue, "routing_key": rec.routing_key, "reason": rec.reason,
               "attempts": rec.attempts, "first_failure": rec.first_failure,
               "last_failure": rec.last_failure, "body": rec.body, "headers": rec.headers,
               "properties": rec.properties, "dead_at": at, "replayed_at": None}
        async with translated():
            await self._col.replace_one({"_id": rec.message_id}, doc, upsert=True)

    async def waiting(self, queue: str | None, limit: int) -> list[DeadLetterRecord]:
        flt: Doc = {"replayed_at": None}
        if queue:
            flt["queue"] = queue
        async with translated():
            docs = await self._col.find(flt).sort("dead_at", 1).limit(limit).to_list()
        return [_from_doc(d) for d in docs]

    async def by_ids(self, ids: list[str]) -> list[DeadLetterRecord]:
        async with translated():
            docs = await self._col.find({"_id": {"$in": ids}}).sort("dead_at", 1).to_list()
        return [_from_doc(d) for d in docs]

    async def mark_replayed(self, message_id: str, at: datetime) -> None:
        async with translated():
            await self._col.update_one({"_id": message_id}, {"$set": {"replayed_at": at}})


def _from_doc(d: Doc) -> DeadLetterRecord:
    return DeadLetterRecord(message_id=d["_id"], queue=d["queue"], routing_key=d["routing_key"],
                            reason=d["reason"], attempts=int(d["attempts"]),
                            first_failure=d.get("first_failure"), last_failure=d.get("last_failure"),
                            body=bytes(d["body"]), headers=dict(d.get("headers") or {}),
                            properties=dict(d.get("properties") or {}))
