"""The service's own signing key, created once in MongoDB and shared by every process, so values
derived from it (token secrets) are the same on every redelivery, in every worker."""

from __future__ import annotations

import contextlib
import secrets

from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import Duplicate, translated
from storage.mongo import Doc


async def service_key(db: AsyncDatabase[Doc]) -> bytes:
    """The key; the first process to ask creates it (`$setOnInsert`), the others read that one."""
    # FerretDB's upserts are not atomic: a racing first start gets a duplicate key and reads.
    with contextlib.suppress(Duplicate):
        async with translated():
            await db.service.update_one({"_id": "token-key"},
                                        {"$setOnInsert": {"key": secrets.token_hex(32)}}, upsert=True)
    async with translated():
        doc = await db.service.find_one({"_id": "token-key"})
    assert doc is not None
    return bytes.fromhex(doc["key"])
