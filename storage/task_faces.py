"""What the long tasks do to faces, as conditional single-document writes that leave a mark of the
part (or task) that made them. Counting the marks gives exact counts whatever crashed and was
redelivered in between: a part never keeps a counter of its own.

- GC `free_faces`: a face is tombstoned with `deleted_by` = the part id and `gc_sample: pending`,
  only if it is still free, in no list and older than the cutoff (so a face linked meanwhile is
  kept); once its sample is dealt with, `gc_sample: done`.
- GC `descriptor_version`: the version's descriptor is removed and the part id added to `gc_dropped`.
- Re-extract: the new descriptor is set only if the face lacks that version, and the task id is
  added to `reextracted_by`.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from bson import Binary
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from storage.accounts import LIVE
from storage.errors import translated
from storage.mongo import Doc


class TaskFaces:
    """Face queries and writes of the GC and re-extraction tasks."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._faces = db.faces
        self._accounts = db.accounts

    async def active_accounts(self) -> list[UUID]:
        """Live, unblocked accounts, by id (a blocked account's data is not touched by tasks)."""
        async with translated():
            docs = await (self._accounts.find({**LIVE, "blocked": {"$ne": True}}, {"_id": 1})
                          .sort("_id", 1).to_list())
        return [UUID(d["_id"]) for d in docs]

    async def lacking(self, version: str, face_ids: list[UUID] | None,
                      accounts: list[UUID] | None) -> list[tuple[UUID, UUID]]:
        """(account id, face id) of live faces without a descriptor of `version`, by account then id;
        restricted to `face_ids` and to `accounts` when given."""
        flt: Doc = {**LIVE, "descriptor_versions": {"$ne": version}}
        if face_ids is not None:
            flt["_id"] = {"$in": [str(i) for i in face_ids]}
        if accounts is not None:
            flt["account_id"] = {"$in": [str(i) for i in accounts]}
        async with translated():
            docs = await (self._faces.find(flt, {"account_id": 1})
                          .sort([("account_id", 1), ("_id", 1)]).to_list())
        return [(UUID(d["account_id"]), UUID(d["_id"])) for d in docs]

    async def owners(self, face_ids: list[UUID]) -> dict[UUID, UUID]:
        """Live faces among `face_ids` with their account ids."""
        async with translated():
            docs = await self._faces.find({"_id": {"$in": [str(i) for i in face_ids]}, **LIVE},
                                          {"account_id": 1}).to_list()
        return {UUID(d["_id"]): UUID(d["account_id"]) for d in docs}

    async def face(self, face_id: UUID) -> Doc | None:
        """A live face's `descriptor_versions` and `sample_id`."""
        async with translated():
            return await self._faces.find_one({"_id": str(face_id), **LIVE},
                                              {"descriptor_versions": 1, "sample_id": 1, "account_id": 1})

    async def set_descriptor(self, face_id: UUID, version: str, data: bytes, task_id: UUID) -> bool:
        """Add the descriptor unless the face has that version already; True when this call did."""
        async with translated():
            res = await self._faces.update_one(
                {"_id": str(face_id), **LIVE, "descriptor_versions": {"$ne": version}},
                {"$set": {f"descriptors.{version}": Binary(data)},
                 "$addToSet": {"descriptor_versions": version, "reextracted_by": str(task_id)}})
        return res.modified_count == 1

    async def reextracted(self, face_ids: list[UUID], task_id: UUID) -> int:
        async with translated():
            return await self._faces.count_documents({"_id": {"$in": [str(i) for i in face_ids]},
                                                      "reextracted_by": str(task_id)})

    async def free_old(self, account_id: UUID, cutoff: datetime, limit: int) -> list[UUID]:
        """Free faces (no person, no list) of the account not changed since `cutoff`."""
        async with translated():
            docs = await (self._faces.find(_collectable(account_id, cutoff), {"_id": 1})
                          .sort("_id", 1).limit(limit).to_list())
        return [UUID(d["_id"]) for d in docs]

    async def collect(self, face_id: UUID, account_id: UUID, cutoff: datetime, part_id: UUID,
                      at: datetime) -> str | None:
        """Tombstone the face if it is still collectable; its sample id, else None."""
        flt = {**_collectable(account_id, cutoff), "_id": str(face_id)}
        async with translated():
            doc = await self._faces.find_one_and_update(
                flt, {"$set": {"deleted_by": str(part_id), "deleted_at": at, "gc_sample": "pending",
                               "descriptors": {}, "descriptor_versions": []}},
                return_document=ReturnDocument.AFTER)
        return None if doc is None else str(doc.get("sample_id") or "")

    async def samples_pending(self, account_id: UUID, part_id: UUID) -> list[tuple[UUID, str]]:
        """(face id, sample id) of faces this part collected whose sample is not dealt with yet."""
        async with translated():
            docs = await self._faces.find({"account_id": str(account_id), "deleted_by": str(part_id),
                                           "gc_sample": "pending"}, {"sample_id": 1}).to_list()
        return [(UUID(d["_id"]), str(d.get("sample_id") or "")) for d in docs]

    async def sample_done(self, face_id: UUID) -> None:
        async with translated():
            await self._faces.update_one({"_id": str(face_id)}, {"$set": {"gc_sample": "done"}})

    async def collected(self, account_id: UUID, part_id: UUID) -> int:
        async with translated():
            return await self._faces.count_documents({"account_id": str(account_id),
                                                      "deleted_by": str(part_id)})

    async def drop_version(self, account_id: UUID, version: str, part_id: UUID) -> int:
        """Remove the descriptors of `version` from the account's live faces; how many this part
        removed, counting those of an interrupted earlier attempt."""
        async with translated():
            await self._faces.update_many(
                {"account_id": str(account_id), **LIVE, "descriptor_versions": version},
                {"$unset": {f"descriptors.{version}": ""}, "$pull": {"descriptor_versions": version},
                 "$addToSet": {"gc_dropped": str(part_id)}})
            return await self._faces.count_documents({"account_id": str(account_id),
                                                      "gc_dropped": str(part_id)})


def _collectable(account_id: UUID, cutoff: datetime) -> Doc:
    return {"account_id": str(account_id), **LIVE, "person_id": None, "lists": {"$size": 0},
            "last_update_time": {"$lt": cutoff}}
