"""Accounts in MongoDB: `_id` is the account id, `email_lower` carries the case-insensitive unique
email, `created_by` the command that created it (so a redelivered create is recognised)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import translated
from storage.mongo import Doc

OWNED = ("persons", "lists", "faces", "tokens")
LIVE: Doc = {"deleted_by": {"$exists": False}}
"""Deleted accounts stay as tombstones (`deleted_by` = the deleting command), so a redelivered
delete can tell "I deleted it" from "it never existed"."""


@dataclass(frozen=True)
class AccountRecord:
    """An account as stored."""

    account_id: UUID
    email: str
    organization_name: str
    password_hash: str
    blocked: bool
    created_by: UUID
    create_time: datetime


class AccountRepository:
    """The `accounts` collection, plus the per-account counts of the other collections."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._db = db
        self._col = db.accounts

    async def insert(self, rec: AccountRecord) -> None:
        """Insert; raises `storage.errors.Duplicate` when the id or the email is taken."""
        async with translated():
            await self._col.insert_one(_to_doc(rec))

    async def get(self, account_id: UUID) -> AccountRecord | None:
        async with translated():
            doc = await self._col.find_one({"_id": str(account_id), **LIVE})
        return None if doc is None else _from_doc(doc)

    async def find_by_email(self, email: str) -> AccountRecord | None:
        async with translated():
            doc = await self._col.find_one({"email_lower": email.lower(), **LIVE})
        return None if doc is None else _from_doc(doc)

    async def page(self, skip: int, limit: int, email: str | None, organization_name: str | None,
                   blocked: bool | None) -> tuple[list[AccountRecord], int]:
        """Accounts ordered by email, with the total matching the filters."""
        flt: Doc = dict(LIVE)
        if email:
            flt["email_lower"] = {"$regex": re.escape(email.lower())}
        if organization_name is not None:
            flt["organization_name"] = organization_name
        if blocked is not None:
            flt["blocked"] = blocked
        async with translated():
            docs = await self._col.find(flt).sort("email_lower", 1).skip(skip).limit(limit).to_list()
            total = await self._col.count_documents(flt)
        return [_from_doc(d) for d in docs], total

    async def update(self, account_id: UUID, **fields: Any) -> AccountRecord | None:
        """Set fields (an absolute `$set`, so applying it twice is the same as once)."""
        async with translated():
            doc = await self._col.find_one_and_update({"_id": str(account_id), **LIVE}, {"$set": fields},
                                                      return_document=ReturnDocument.AFTER)
        return None if doc is None else _from_doc(doc)

    async def counts(self, account_id: UUID) -> dict[str, int]:
        """Exact per-account counts, computed now from the store (tombstones are not counted)."""
        flt = {"account_id": str(account_id), **LIVE}
        async with translated():
            return {
                "person_count": await self._db.persons.count_documents(flt),
                "list_count": await self._db.lists.count_documents(flt),
                "descriptor_count": await descriptor_count(self._db, flt),
                "token_count": await self._db.tokens.count_documents({**flt, **LIVE}),
            }

    async def begin_delete(self, account_id: UUID, command_id: UUID) -> dict[str, int] | None:
        """Freeze what deleting the account will remove, once: a redelivered delete reports the
        counts of the first attempt, not what its interrupted run left behind. None: no such
        account (or another command deleted it)."""
        flt = {"account_id": str(account_id)}
        async with translated():
            doc = await self._col.find_one({"_id": str(account_id)})
            if doc is None or doc.get("deleted_by", str(command_id)) != str(command_id):
                return None
            if "deleting" in doc:
                return dict(doc["deleting"])
            counts = {name: await self._db[name].count_documents({**flt, **LIVE}) for name in OWNED}
            await self._col.update_one({"_id": str(account_id), "deleting": {"$exists": False}},
                                       {"$set": {"deleting": counts}})
            doc = await self._col.find_one({"_id": str(account_id)})
        return None if doc is None else dict(doc["deleting"])

    async def delete_owned(self, account_id: UUID, collection: str) -> list[Doc]:
        """Delete one kind of owned object; return the deleted documents' `_id` and `sample_id`."""
        flt = {"account_id": str(account_id)}
        async with translated():
            docs = await self._db[collection].find(flt, {"_id": 1, "sample_id": 1}).to_list()
            await self._db[collection].delete_many(flt)
        return docs

    async def finish_delete(self, account_id: UUID, command_id: UUID) -> None:
        """Turn the account into a tombstone: no email (it may be registered again), no password."""
        async with translated():
            await self._col.update_one({"_id": str(account_id)}, {
                "$set": {"deleted_by": str(command_id), "email_lower": f"deleted:{account_id}"},
                "$unset": {"password_hash": ""}})


async def descriptor_count(db: AsyncDatabase[Doc], flt: Doc) -> int:
    """Descriptors = sum over faces of their descriptor versions (a face has one per version)."""
    versions = await db.faces.distinct("descriptor_versions", flt)
    return sum([await db.faces.count_documents({**flt, "descriptor_versions": v}) for v in versions])


def _to_doc(r: AccountRecord) -> Doc:
    return {"_id": str(r.account_id), "email": r.email, "email_lower": r.email.lower(),
            "organization_name": r.organization_name, "password_hash": r.password_hash,
            "blocked": r.blocked, "created_by": str(r.created_by), "create_time": r.create_time}


def _from_doc(d: Doc) -> AccountRecord:
    return AccountRecord(UUID(d["_id"]), d["email"], d["organization_name"], d["password_hash"],
                         bool(d["blocked"]), UUID(d["created_by"]), d["create_time"])
