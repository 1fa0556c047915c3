"""The MongoDB client and the indexes every collection needs.

Works against real MongoDB and against FerretDB v1 (no transactions, no TTL indexes): uniqueness is
enforced with unique indexes, never with read-then-write.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, OperationFailure

Doc = dict[str, Any]
NAMESPACE_EXISTS = 48


# Every collection the service writes. Created up front: creating a collection under load takes
# FerretDB v1's metadata write lock, the moment its connection pool is most likely to run dry.
COLLECTIONS = ("accounts", "tokens", "lists", "persons", "faces", "tasks", "task_parts", "task_errors",
               "inbox", "outbox", "dead_letters", "leases", "series", "service",
               "samples.files", "samples.chunks")


def connect(url: str, timeout_ms: int = 5000, op_timeout_ms: int = 30000,
            max_pool: int = 20) -> AsyncMongoClient[Doc]:
    """A client; it connects lazily, on first use. No operation waits longer than `op_timeout_ms`
    for its answer (a hung server becomes a transient error that is retried, not a stuck
    consumer), and at most `max_pool` operations run at once per process."""
    return AsyncMongoClient(url, serverSelectionTimeoutMS=timeout_ms, tz_aware=True,
                            connectTimeoutMS=timeout_ms, socketTimeoutMS=op_timeout_ms,
                            maxPoolSize=max_pool, appname="luna-admin-bus")


# (collection, keys, name, unique). count_object_in_list counts members by `lists`; a person's
# faces are found by `person_id`.
INDEXES: tuple[tuple[str, list[tuple[str, int]], str, bool], ...] = (
    ("accounts", [("email_lower", ASCENDING)], "email_unique", True),
    ("outbox", [("sent", ASCENDING), ("seq", ASCENDING)], "pending", False),
    ("outbox", [("command_id", ASCENDING)], "by_command", False),
    ("outbox", [("sent", ASCENDING), ("sent_at", ASCENDING)], "sent_by_time", False),  # retention
    ("inbox", [("processed_at", ASCENDING)], "by_time", False),
    *((name, [("account_id", ASCENDING)], "by_account", False)
      for name in ("persons", "lists", "faces", "tokens")),
    *((name, [("lists", ASCENDING)], "by_list", False) for name in ("persons", "faces")),
    ("faces", [("person_id", ASCENDING)], "by_person", False),
)


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    """Create every collection and index the service relies on that is missing; idempotent.

    Only what is missing: on FerretDB v1 creating a collection or an index takes the metadata
    write lock even when it exists, and a writer waiting there while the connection pool is held
    by readers deadlocks the server (seen when processes restarted under load). Reads do not."""
    existing = set(await db.list_collection_names())
    for name in COLLECTIONS:
        if name not in existing:
            try:
                await db.create_collection(name)
            except CollectionInvalid:
                pass  # another process was first (as the driver reports it)
            except OperationFailure as exc:
                if exc.code != NAMESPACE_EXISTS:  # another process was first (as the server does)
                    raise
    present: dict[str, set[str]] = {}
    for collection, keys, name, unique in INDEXES:
        if collection not in present:
            present[collection] = {ix["name"] async for ix in await db[collection].list_indexes()}
        if name not in present[collection]:
            await db[collection].create_index(keys, name=name, unique=unique)
