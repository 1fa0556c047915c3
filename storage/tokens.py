"""Tokens: only the SHA-256 of a token's secret is stored (the secret is 256 random-looking bits,
so a slow password hash adds nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import translated
from storage.mongo import Doc


@dataclass(frozen=True)
class TokenRecord:
    """A token as stored."""

    token_id: UUID
    account_id: UUID
    token_data: str
    secret_sha256: str
    created_by: UUID
    create_time: datetime


class TokenRepository:
    """The `tokens` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db.tokens

    async def insert(self, rec: TokenRecord) -> None:
        """Insert; raises `storage.errors.Duplicate` when the id exists."""
        async with translated():
            await self._col.insert_one({"_id": str(rec.token_id), "account_id": str(rec.account_id),
                                        "token_data": rec.token_data, "secret_sha256": rec.secret_sha256,
                                        "created_by": str(rec.created_by), "create_time": rec.create_time})

    async def get(self, token_id: UUID, deleted_by: UUID | None = None) -> TokenRecord | None:
        """A live token, or one deleted by `deleted_by` (so a redelivered delete finds its own)."""
        alive: Doc = {"deleted_by": {"$exists": False}}
        if deleted_by is not None:
            alive = {"$or": [alive, {"deleted_by": str(deleted_by)}]}
        async with translated():
            doc = await self._col.find_one({"_id": str(token_id), **alive})
        return None if doc is None else _from_doc(doc)

    async def page(self, account_id: UUID, skip: int, limit: int) -> tuple[list[TokenRecord], int]:
        flt = {"account_id": str(account_id), "deleted_by": {"$exists": False}}
        async with translated():
            docs = await self._col.find(flt).sort("create_time", 1).skip(skip).limit(limit).to_list()
            total = await self._col.count_documents(flt)
        return [_from_doc(d) for d in docs], total

    async def delete(self, token_id: UUID, command_id: UUID) -> bool:
        """Revoke: a tombstone with the deleting command (the secret's hash goes)."""
        async with translated():
            res = await self._col.update_one({"_id": str(token_id)}, {
                "$set": {"deleted_by": str(command_id), "secret_sha256": ""}})
        return res.modified_count == 1


def _from_doc(d: Doc) -> TokenRecord:
    return TokenRecord(UUID(d["_id"]), UUID(d["account_id"]), d["token_data"], d["secret_sha256"],
                       UUID(d["created_by"]), d["create_time"])
