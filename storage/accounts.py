"""Accounts in MongoDB: `_id` is the account id, `email_lower` carries the case-insensitive unique
email, `created_by` the command that created it (so a redelivered create is recognised)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import translated
from storage.mongo import Doc


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
            doc = await self._col.find_one({"_id": str(account_id)})
        return None if doc is None else _from_doc(doc)

    async def find_by_email(self, email: str) -> AccountRecord | None:
        async with translated():
            doc = await self._col.find_one({"email_lower": email.lower()})
        return None if doc is None else _from_doc(doc)

    async def counts(self, account_id: UUID) -> dict[str, int]:
        """Exact per-account counts, computed now from the store."""
        flt = {"account_id": str(account_id)}
        async with translated():
            return {
                "person_count": await self._db.persons.count_documents(flt),
                "list_count": await self._db.lists.count_documents(flt),
                "descriptor_count": await self._db.faces.count_documents(
                    {**flt, "descriptor_versions.0": {"$exists": True}}),
                "token_count": await self._db.tokens.count_documents(flt),
            }


def _to_doc(r: AccountRecord) -> Doc:
    return {"_id": str(r.account_id), "email": r.email, "email_lower": r.email.lower(),
            "organization_name": r.organization_name, "password_hash": r.password_hash,
            "blocked": r.blocked, "created_by": str(r.created_by), "create_time": r.create_time}


def _from_doc(d: Doc) -> AccountRecord:
    return AccountRecord(UUID(d["_id"]), d["email"], d["organization_name"], d["password_hash"],
                         bool(d["blocked"]), UUID(d["created_by"]), d["create_time"])
