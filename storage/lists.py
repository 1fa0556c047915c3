"""Lists in MongoDB: `_id` is the list id; members are not stored here but on the members
(`storage.members`), so a list document changes only with `user_data`, `last_update_time` and its
tombstone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from contracts.lists import ListType
from storage import tombstones
from storage.accounts import LIVE
from storage.errors import translated
from storage.mongo import Doc


@dataclass(frozen=True)
class ListRecord:
    """A list as stored; `deleted_at` is set on tombstones only."""

    list_id: UUID
    account_id: UUID
    type: ListType
    user_data: str
    create_time: datetime
    last_update_time: datetime
    created_by: UUID
    deleted_at: datetime | None = None


class ListRepository:
    """The `lists` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db.lists

    async def insert(self, rec: ListRecord) -> None:
        """Insert; raises `storage.errors.Duplicate` when the id exists."""
        async with translated():
            await self._col.insert_one({
                "_id": str(rec.list_id), "account_id": str(rec.account_id), "type": rec.type,
                "user_data": rec.user_data, "create_time": rec.create_time,
                "last_update_time": rec.last_update_time, "created_by": str(rec.created_by)})

    async def created_by(self, list_id: UUID) -> UUID | None:
        return await tombstones.created_by(self._col, list_id)

    async def get(self, list_id: UUID, deleted_by: UUID | None = None) -> ListRecord | None:
        """A live list, or one deleted by `deleted_by` (so a redelivered delete finds its own)."""
        async with translated():
            doc = await self._col.find_one({"_id": str(list_id), **tombstones.alive(deleted_by)})
        return None if doc is None else _from_doc(doc)

    async def get_many(self, list_ids: list[UUID]) -> list[ListRecord]:
        """The live lists among `list_ids`."""
        async with translated():
            docs = await self._col.find({"_id": {"$in": [str(i) for i in list_ids]}, **LIVE}).to_list()
        return [_from_doc(d) for d in docs]

    async def page(self, skip: int, limit: int, account_id: UUID | None,
                   type_: str | None) -> tuple[list[ListRecord], int]:
        """Live lists, oldest first, with the total matching the filters."""
        flt: Doc = dict(LIVE)
        if account_id is not None:
            flt["account_id"] = str(account_id)
        if type_ is not None:
            flt["type"] = type_
        async with translated():
            docs = await (self._col.find(flt).sort([("create_time", 1), ("_id", 1)])
                          .skip(skip).limit(limit).to_list())
            total = await self._col.count_documents(flt)
        return [_from_doc(d) for d in docs], total

    async def update(self, list_id: UUID, user_data: str) -> ListRecord | None:
        """New `user_data` (an absolute `$set`: applying it twice is applying it once)."""
        async with translated():
            doc = await self._col.find_one_and_update({"_id": str(list_id), **LIVE},
                                                      {"$set": {"user_data": user_data}},
                                                      return_document=ReturnDocument.AFTER)
        return None if doc is None else _from_doc(doc)

    async def touch(self, list_ids: list[UUID], at: datetime) -> None:
        """Membership changed at `at`: `$max`, so the time never moves backwards, and a change
        applied again (a redelivery, with its first attempt's `at`) leaves it as it was."""
        if not list_ids:
            return
        async with translated():
            await self._col.update_many({"_id": {"$in": [str(i) for i in list_ids]}, **LIVE},
                                        {"$max": {"last_update_time": at}})

    async def tombstone(self, list_id: UUID, command_id: UUID, at: datetime) -> ListRecord | None:
        """See `storage.tombstones.tombstone`."""
        doc = await tombstones.tombstone(self._col, list_id, command_id, at)
        return None if doc is None else _from_doc(doc)


def _from_doc(d: Doc) -> ListRecord:
    return ListRecord(UUID(d["_id"]), UUID(d["account_id"]), d["type"], d.get("user_data", ""),
                      d["create_time"], d["last_update_time"], UUID(d["created_by"]), d.get("deleted_at"))
