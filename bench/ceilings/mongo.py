"""MongoDB ceiling: the documents the pipeline writes per command, one command after another (the
pipeline's concurrency model: one message at a time per queue, and every command of this mix goes
to the `accounts` queue).

- `writes` (the issue's definition): account insert_one (create) + outbox insert_many + inbox upsert;
- `all ops`: also the reads the pipeline makes (inbox lookup; account.get's find and four counts)
  and, concurrently, the relay's outbox poll and mark-sent after every command, as the service does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.ceilings import Ceiling
from bench.ceilings.mirror import Written, outbox_doc
from bench.config import Endpoints, Names
from storage.mongo import ensure_indexes

Doc = dict[str, Any]
LIVE: Doc = {"deleted_by": {"$exists": False}}


async def _writes(db: AsyncDatabase[Doc], w: Written) -> None:
    if w.account_doc is not None:
        await db.accounts.insert_one(w.account_doc)
    base = time.time_ns()
    await db.outbox.insert_many([outbox_doc(r, w.command_id, base + i) for i, r in enumerate(w.records)],
                                ordered=False)
    await db.inbox.update_one({"_id": w.command_id}, {"$setOnInsert": {
        "type": w.type, "status": "ok", "result_event_id": w.records[-1].event_id,
        "processed_at": datetime.now(UTC)}}, upsert=True)


async def _reads(db: AsyncDatabase[Doc], w: Written) -> None:
    await db.inbox.find_one({"_id": w.command_id})
    if w.read_account is not None:
        flt = {"account_id": w.read_account}
        await db.accounts.find_one({"_id": w.read_account, **LIVE})
        await db.persons.count_documents(flt)
        await db.lists.count_documents(flt)
        for v in await db.faces.distinct("descriptor_versions", flt):
            await db.faces.count_documents({**flt, "descriptor_versions": v})
        await db.tokens.count_documents({**flt, **LIVE})


async def _relay(db: AsyncDatabase[Doc], wake: asyncio.Event, stop: asyncio.Event) -> int:
    """The relay's MongoDB half: read pending entries in seq order, mark them sent."""
    rounds = 0
    while True:
        pending = await db.outbox.find({"sent": False}).sort("seq", 1).limit(500).to_list()
        if pending:
            await db.outbox.update_many({"_id": {"$in": [d["_id"] for d in pending]}, "sent": False},
                                        {"$set": {"sent": True}})  # as storage.outbox.mark_sent
            rounds += 1
            continue
        if stop.is_set():
            return rounds
        await wake.wait()
        wake.clear()


async def _run(db: AsyncDatabase[Doc], work: Sequence[Written], all_ops: bool) -> tuple[float, str]:
    wake, stop = asyncio.Event(), asyncio.Event()
    relay = asyncio.create_task(_relay(db, wake, stop)) if all_ops else None
    start = time.perf_counter()
    for w in work:
        if all_ops:
            await _reads(db, w)
        await _writes(db, w)
        wake.set()
    note = ""
    if relay is not None:
        stop.set()
        wake.set()
        rounds = await relay
        note = f"relay drained in {rounds} rounds; "
    return time.perf_counter() - start, note


async def measure(ep: Endpoints, work: Sequence[Written], seed_accounts: Sequence[Doc],
                  all_ops: bool) -> Ceiling:
    names = Names.fresh("ceil-mongo")
    client: AsyncMongoClient[Doc] = AsyncMongoClient(ep.mongo_url, tz_aware=True)
    try:
        db = client[names.database]
        await ensure_indexes(db)
        if seed_accounts:
            await db.accounts.insert_many([dict(d) for d in seed_accounts])
        seconds, note = await _run(db, work, all_ops)
    finally:
        await client.drop_database(names.database)
        await client.close()
    docs = sum((w.account_doc is not None) + len(w.records) + 1 for w in work)
    label = "mongo all ops (reads + writes + relay)" if all_ops else "mongo writes (account+outbox+inbox)"
    return Ceiling.of(label, len(work), docs, seconds, "doc written", not all_ops,
                      note=note + "sequential, as one queue's consumer")
