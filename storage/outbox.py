"""The outbox: events waiting to be published to Kafka, keyed by their deterministic event id.

Entries are written with the state change and published by the relay, in `seq` order. Adding an
entry twice is harmless (same `_id`); re-sending one is harmless (same event id downstream).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from storage.mongo import Doc

DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class OutboxEntry:
    """One Kafka record to publish: `stream` is results, events or task-progress."""

    event_id: UUID
    stream: str
    key: str
    value: bytes
    headers: tuple[tuple[str, str], ...]
    command_id: UUID
    kind: str  # "result" or "event": a redelivered command re-sends only its result


class Outbox:
    """The `outbox` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db.outbox

    async def add(self, entries: list[OutboxEntry]) -> None:
        if not entries:
            return
        base = time.time_ns()
        docs = [_to_doc(e, base + i) for i, e in enumerate(entries)]
        try:
            await self._col.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            # Entries already there came from an earlier attempt (interrupted, or a second delivery
            # racing on another consumer): same ids, same bytes.
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            # That delivery still gets its answer: its result goes out once more, as a copy.
            for e in errors:
                if entries[e["index"]].kind == "result":
                    await self.resend_result(entries[e["index"]].command_id)

    async def resend_result(self, command_id: UUID) -> int:
        """Queue the stored result of a command for publishing once more, as a copy with the same
        event id and bytes. A copy, not a reset of the original's `sent` flag: a reset would merge
        with a first publish still pending and the redelivery would go unanswered."""
        doc = await self._stored_result(command_id)
        if doc is None:
            return 0
        seq = time.time_ns()
        original = str(doc["_id"]).split(":resend:")[0]
        copy = {**doc, "_id": f"{original}:resend:{seq}", "kind": "resend", "seq": seq, "sent": False,
                "created_at": datetime.now(UTC)}
        copy.pop("sent_at", None)
        await self._col.insert_one(copy)
        return 1

    async def result_of(self, command_id: UUID) -> bytes | None:
        """The stored result event of a command (what its first processing published)."""
        doc = await self._stored_result(command_id)
        return None if doc is None else bytes(doc["value"])

    async def _stored_result(self, command_id: UUID) -> Doc | None:
        """The newest copy of a command's result: the original, or a re-send of it. Retention may
        have pruned the original while a later delivery's inbox record and re-send live on; every
        copy has the same event id and bytes."""
        flt = {"command_id": str(command_id), "kind": {"$in": ["result", "resend"]}}
        return await self._col.find_one(flt, sort=[("seq", -1)])

    async def pending(self, limit: int) -> list[tuple[str, OutboxEntry]]:
        """The oldest unsent entries, each with its `_id`."""
        # One batch (batch_size = limit): no server cursor stays open if this process dies here.
        cursor = self._col.find({"sent": False}).sort("seq", 1).limit(limit).batch_size(limit)
        return [(doc["_id"], _from_doc(doc)) async for doc in cursor]

    async def mark_sent(self, ids: list[str]) -> None:
        """Mark entries sent: one `update_many`, never a bulk of single updates. FerretDB v1 holds
        one PostgreSQL connection per operation of a bulk write until the whole bulk ends, so a bulk
        larger than its pool (or two that together are) waits forever for a connection it holds
        itself, and every client with it. (An entry's bytes and `seq` never change once written: a
        re-send is a copy under a new `_id`.)"""
        if ids:
            await self._col.update_many({"_id": {"$in": ids}, "sent": False},
                                        {"$set": {"sent": True, "sent_at": datetime.now(UTC)}})

    async def oldest_pending_seq(self) -> int | None:
        doc = await self._col.find_one({"sent": False}, sort=[("seq", 1)])
        return None if doc is None else int(doc["seq"])


def _to_doc(e: OutboxEntry, seq: int) -> Doc:
    # Headers as a sub-document, not pairs: FerretDB v1 rejects nested arrays.
    return {"_id": str(e.event_id), "event_id": str(e.event_id), "stream": e.stream, "key": e.key,
            "value": e.value,
            "headers": dict(e.headers), "command_id": str(e.command_id), "kind": e.kind,
            "seq": seq, "sent": False, "created_at": datetime.now(UTC)}


def _from_doc(doc: Doc) -> OutboxEntry:
    return OutboxEntry(event_id=UUID(doc["event_id"]), stream=doc["stream"], key=doc["key"],
                       value=bytes(doc["value"]), headers=tuple(doc["headers"].items()),
                       command_id=UUID(doc["command_id"]), kind=doc["kind"])
