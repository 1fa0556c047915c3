"""Faces in MongoDB.

A face document: `_id`, `account_id`, `person_id` (null when free: the input of garbage collection),
`lists` and `list_marks` (`storage.members`), `descriptor_versions` (the versions it has, a flat
array that counts and `distinct` read) and `descriptors` (`{version: 512 bytes of packed float32}`;
adding a version is `$set descriptors.<version>` plus `$addToSet descriptor_versions`), `sample_id`
(the aligned crop in the image store), `create_time`, `last_update_time` (moves with person links and
list memberships, so a face freed just now is not collected at once), `created_by`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from bson import Binary
from pymongo.asynchronous.database import AsyncDatabase

from storage import tombstones
from storage.accounts import LIVE
from storage.errors import translated
from storage.members import Members
from storage.mongo import Doc

_LIGHT = {"descriptors": 0, "list_marks": 0}


@dataclass(frozen=True)
class FaceRecord:
    """A face as stored, without its descriptor bytes; `deleted_at` is set on tombstones only."""

    face_id: UUID
    account_id: UUID
    person_id: UUID | None
    lists: tuple[UUID, ...]
    descriptor_versions: tuple[str, ...]
    sample_id: str
    create_time: datetime
    last_update_time: datetime
    created_by: UUID
    deleted_at: datetime | None = None


class FaceRepository(Members):
    """The `faces` collection, and faces as members of descriptor lists."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        super().__init__(db.faces, touch=True)

    async def insert(self, rec: FaceRecord, descriptors: dict[str, bytes]) -> None:
        """Insert with its descriptors; its lists are marked as changed by the creating command.
        Raises `storage.errors.Duplicate` when the id exists."""
        mark = {"by": str(rec.created_by), "at": rec.create_time}
        async with translated():
            await self._col.insert_one({
                "_id": str(rec.face_id), "account_id": str(rec.account_id),
                "person_id": None if rec.person_id is None else str(rec.person_id),
                "lists": [str(i) for i in rec.lists], "list_marks": {str(i): mark for i in rec.lists},
                "descriptor_versions": list(rec.descriptor_versions),
                "descriptors": {v: Binary(b) for v, b in descriptors.items()}, "sample_id": rec.sample_id,
                "create_time": rec.create_time, "last_update_time": rec.last_update_time,
                "created_by": str(rec.created_by)})

    async def created_by(self, face_id: UUID) -> UUID | None:
        return await tombstones.created_by(self._col, face_id)

    async def get(self, face_id: UUID, deleted_by: UUID | None = None) -> FaceRecord | None:
        """A live face, or one deleted by `deleted_by` (so a redelivered delete finds its own)."""
        async with translated():
            doc = await self._col.find_one({"_id": str(face_id), **tombstones.alive(deleted_by)}, _LIGHT)
        return None if doc is None else _from_doc(doc)

    async def descriptor(self, face_id: UUID, version: str) -> bytes | None:
        """The packed descriptor of a live face by extractor `version`."""
        async with translated():
            doc = await self._col.find_one({"_id": str(face_id), **LIVE}, {"descriptors": 1})
        data = None if doc is None else doc.get("descriptors", {}).get(version)
        return None if data is None else bytes(data)

    async def page(self, skip: int, limit: int, account_id: UUID | None, person_id: UUID | None,
                   free: bool | None) -> tuple[list[FaceRecord], int]:
        """Live faces, oldest first; `free` selects faces linked to no person (or, False, to one)."""
        flt: Doc = dict(LIVE)
        if account_id is not None:
            flt["account_id"] = str(account_id)
        if person_id is not None:
            flt["person_id"] = str(person_id)
        if free is not None:
            flt.setdefault("person_id", None if free else {"$ne": None})
        async with translated():
            docs = await (self._col.find(flt, _LIGHT).sort([("create_time", 1), ("_id", 1)])
                          .skip(skip).limit(limit).to_list())
            total = await self._col.count_documents(flt)
        return [_from_doc(d) for d in docs], total

    async def of_persons(self, person_ids: list[UUID], deleted_by: UUID | None = None) -> list[FaceRecord]:
        """The live faces of these persons (and those `deleted_by` this command), oldest first."""
        flt = {"person_id": {"$in": [str(i) for i in person_ids]}, **tombstones.alive(deleted_by)}
        async with translated():
            docs = await self._col.find(flt, _LIGHT).sort([("create_time", 1), ("_id", 1)]).to_list()
        return [_from_doc(d) for d in docs]

    async def link(self, face_id: UUID, person_id: UUID, at: datetime) -> bool:
        """Link a free face to the person: conditional on the face being free, so two racing links
        cannot both win. False: the face is not live, or it is linked already."""
        return await self._set_person({"person_id": None}, face_id, str(person_id), at)

    async def unlink(self, face_id: UUID, person_id: UUID, at: datetime) -> bool:
        """Free a face linked to this person; False when it was not linked to it."""
        return await self._set_person({"person_id": str(person_id)}, face_id, None, at)

    async def _set_person(self, flt: Doc, face_id: UUID, person_id: str | None, at: datetime) -> bool:
        async with translated():
            res = await self._col.update_one({"_id": str(face_id), **flt, **LIVE},
                                             {"$set": {"person_id": person_id, "last_update_time": at}})
        return res.modified_count == 1

    async def free(self, person_id: UUID, at: datetime) -> None:
        """The person is gone: its live faces become free (the input of garbage collection)."""
        async with translated():
            await self._col.update_many({"person_id": str(person_id), **LIVE},
                                        {"$set": {"person_id": None, "last_update_time": at}})

    async def tombstone(self, face_id: UUID, command_id: UUID, at: datetime) -> FaceRecord | None:
        """See `storage.tombstones.tombstone`; the descriptors go at once (counts skip tombstones
        anyway), `lists` and `sample_id` stay for a redelivered delete to finish with."""
        doc = await tombstones.tombstone(self._col, face_id, command_id, at,
                                         descriptors={}, descriptor_versions=[])
        return None if doc is None else _from_doc(doc)


def _from_doc(d: Doc) -> FaceRecord:
    person = d.get("person_id")
    return FaceRecord(UUID(d["_id"]), UUID(d["account_id"]), None if person is None else UUID(person),
                      tuple(UUID(i) for i in d.get("lists", [])), tuple(d.get("descriptor_versions", [])),
                      d.get("sample_id", ""), d["create_time"], d["last_update_time"], UUID(d["created_by"]),
                      d.get("deleted_at"))
