"""Persons in MongoDB: `_id` is the person id, `lists` its list memberships (`storage.members`).
A person's faces are not stored here: a face's `person_id` is the one link, so "a face belongs to at
most one person" is a property of a single document, enforced by a conditional update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from storage import tombstones
from storage.accounts import LIVE
from storage.errors import translated
from storage.members import Members
from storage.mongo import Doc


@dataclass(frozen=True)
class PersonRecord:
    """A person as stored; `deleted_at` is set on tombstones only."""

    person_id: UUID
    account_id: UUID
    user_data: str
    external_id: str | None
    lists: tuple[UUID, ...]
    create_time: datetime
    created_by: UUID
    deleted_at: datetime | None = None


class PersonRepository(Members):
    """The `persons` collection, and persons as list members."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        super().__init__(db.persons, touch=False)

    async def insert(self, rec: PersonRecord) -> None:
        """Insert (not an upsert: `$setOnInsert` drops nulls and empty lists on FerretDB); raises
        `storage.errors.Duplicate` when the id exists."""
        async with translated():
            await self._col.insert_one({
                "_id": str(rec.person_id), "account_id": str(rec.account_id), "user_data": rec.user_data,
                "external_id": rec.external_id, "lists": [str(i) for i in rec.lists], "list_marks": {},
                "create_time": rec.create_time, "created_by": str(rec.created_by)})

    async def created_by(self, person_id: UUID) -> UUID | None:
        return await tombstones.created_by(self._col, person_id)

    async def get(self, person_id: UUID, deleted_by: UUID | None = None) -> PersonRecord | None:
        """A live person, or one deleted by `deleted_by` (so a redelivered delete finds its own)."""
        async with translated():
            doc = await self._col.find_one({"_id": str(person_id), **tombstones.alive(deleted_by)})
        return None if doc is None else _from_doc(doc)

    async def page(self, skip: int, limit: int, account_id: UUID | None,
                   external_id: str | None) -> tuple[list[PersonRecord], int]:
        """Live persons, oldest first, with the total matching the filters."""
        flt: Doc = dict(LIVE)
        if account_id is not None:
            flt["account_id"] = str(account_id)
        if external_id is not None:
            flt["external_id"] = external_id
        async with translated():
            docs = await (self._col.find(flt, {"list_marks": 0}).sort([("create_time", 1), ("_id", 1)])
                          .skip(skip).limit(limit).to_list())
            total = await self._col.count_documents(flt)
        return [_from_doc(d) for d in docs], total

    async def update(self, person_id: UUID, **fields: Any) -> PersonRecord | None:
        """Set fields (an absolute `$set`: applying it twice is applying it once)."""
        async with translated():
            doc = await self._col.find_one_and_update({"_id": str(person_id), **LIVE}, {"$set": fields},
                                                      return_document=ReturnDocument.AFTER)
        return None if doc is None else _from_doc(doc)

    async def tombstone(self, person_id: UUID, command_id: UUID, at: datetime) -> PersonRecord | None:
        """See `storage.tombstones.tombstone`; the tombstone keeps `lists` (counts skip it), so a
        redelivered delete still knows which lists lost a member."""
        doc = await tombstones.tombstone(self._col, person_id, command_id, at)
        return None if doc is None else _from_doc(doc)


def _from_doc(d: Doc) -> PersonRecord:
    return PersonRecord(UUID(d["_id"]), UUID(d["account_id"]), d.get("user_data", ""), d.get("external_id"),
                        tuple(UUID(i) for i in d.get("lists", [])), d["create_time"], UUID(d["created_by"]),
                        d.get("deleted_at"))
