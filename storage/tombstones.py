"""Deletes as tombstones, for lists, persons and faces.

A deleted object keeps its document with `deleted_by` (the deleting command) and `deleted_at`, so a
redelivered delete finds its own tombstone and finishes the work its first attempt may have left
(freeing faces, detaching members, removing samples), with the first attempt's time. Every read
and count of live objects filters on `LIVE`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from storage.accounts import LIVE
from storage.errors import translated
from storage.mongo import Doc


def alive(deleted_by: UUID | None = None) -> Doc:
    """Live objects, plus (when given) those `deleted_by` this command."""
    if deleted_by is None:
        return dict(LIVE)
    return {"$or": [dict(LIVE), {"deleted_by": str(deleted_by)}]}


async def tombstone(col: AsyncCollection[Doc], object_id: UUID, command_id: UUID, at: datetime,
                    **also: Any) -> Doc | None:
    """Turn a live object into a tombstone of `command_id` (setting `also` too), or find the one
    this command made before. None: no live object and no tombstone of this command."""
    async with translated():
        doc = await col.find_one_and_update(
            {"_id": str(object_id), **LIVE},
            {"$set": {"deleted_by": str(command_id), "deleted_at": at, **also}},
            return_document=ReturnDocument.AFTER)
        if doc is None:
            doc = await col.find_one({"_id": str(object_id), "deleted_by": str(command_id)})
    return doc


async def created_by(col: AsyncCollection[Doc], object_id: UUID) -> UUID | None:
    """The command that created the object with this id (live or not); None when there is none."""
    async with translated():
        doc = await col.find_one({"_id": str(object_id)}, {"created_by": 1})
    return None if doc is None or "created_by" not in doc else UUID(doc["created_by"])
