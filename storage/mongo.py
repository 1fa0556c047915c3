"""The MongoDB client and the indexes every collection needs.

Works against real MongoDB and against FerretDB v1 (no transactions, no TTL indexes): uniqueness is
enforced with unique indexes, never with read-then-write.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


def connect(url: str, timeout_ms: int = 5000) -> AsyncMongoClient[Doc]:
    """A client; it connects lazily, on first use."""
    return AsyncMongoClient(url, serverSelectionTimeoutMS=timeout_ms, tz_aware=True,
                            connectTimeoutMS=timeout_ms, appname="luna-admin-bus")


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    """Create every index the service relies on; idempotent."""
    await db.accounts.create_index([("email_lower", ASCENDING)], unique=True, name="email_unique")
    await db.outbox.create_index([("sent", ASCENDING), ("seq", ASCENDING)], name="pending")
    await db.outbox.create_index([("command_id", ASCENDING)], name="by_command")
    await db.inbox.create_index([("processed_at", ASCENDING)], name="by_time")
    for name in ("persons", "lists", "faces", "tokens"):
        await db[name].create_index([("account_id", ASCENDING)], name="by_account")
    # count_object_in_list counts members by `lists`; a person's faces are found by `person_id`.
    for name in ("persons", "faces"):
        await db[name].create_index([("lists", ASCENDING)], name="by_list")
    await db.faces.create_index([("person_id", ASCENDING)], name="by_person")
