"""Retention of the effectively-once records: without it the inbox and the outbox grow with every
command, forever (and on FerretDB v1, whose lookups scan the collection, every command gets slower).

An inbox record is the deduplication memory of one command; a sent outbox entry holds the result a
duplicate gets again. Inbox records go first, sent outbox entries a margin later, so a command
still in the inbox always finds its stored result. Unsent entries are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import translated
from storage.mongo import Doc

log = structlog.get_logger("luna.retention")


@dataclass(frozen=True)
class Pruned:
    inbox: int
    outbox: int


async def prune(db: AsyncDatabase[Doc], now: datetime, inbox_s: int, outbox_margin_s: int) -> Pruned:
    """Delete inbox records older than `inbox_s` and outbox entries sent before that plus the margin."""
    cutoff = now - timedelta(seconds=inbox_s)
    async with translated():
        inbox = await db.inbox.delete_many({"processed_at": {"$lt": cutoff}})
        outbox = await db.outbox.delete_many(
            {"sent": True, "sent_at": {"$lt": cutoff - timedelta(seconds=outbox_margin_s)}})
    return Pruned(inbox.deleted_count, outbox.deleted_count)


async def keep_pruned(db: AsyncDatabase[Doc], stop: asyncio.Event, inbox_s: int, outbox_margin_s: int,
                      every_s: float) -> None:
    """Prune every `every_s` until `stop`; a failure is logged and tried again next time."""
    while not stop.is_set():
        try:
            done = await prune(db, datetime.now(UTC), inbox_s, outbox_margin_s)
            if done.inbox or done.outbox:
                log.info("pruned", inbox=done.inbox, outbox=done.outbox)
        except Exception as exc:
            log.warning("prune_failed", error=f"{type(exc).__name__}: {exc}"[:300])
        with contextlib.suppress(TimeoutError):  # the pruning period; ends at once on stop
            await asyncio.wait_for(stop.wait(), timeout=every_s)
