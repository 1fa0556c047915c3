"""Counters of processed commands in time buckets, for `stats.series`.

Each count is kept at three resolutions (1 s, 1 min, 1 h) so a query reads at most about as many
documents as it returns buckets times types: a day in 1-minute buckets reads minute documents, not
86,400 second documents. Increments are `$inc` upserts keyed by a deterministic `_id`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import Duplicate, translated
from storage.mongo import Doc

RESOLUTIONS = (1, 60, 3600)
Key = tuple[int, datetime, str, str]  # resolution, bucket start, command type, outcome


def floor(at: datetime, seconds: int) -> datetime:
    ts = int(at.timestamp())
    return datetime.fromtimestamp(ts - ts % seconds, UTC)


def keys_for(at: datetime, type_: str, outcome: str) -> list[Key]:
    return [(r, floor(at, r), type_, outcome) for r in RESOLUTIONS]


class SeriesStore:
    """The `series` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._col = db.series

    async def add(self, counts: Counter[Key]) -> None:
        """Add counts, one `$inc` upsert per key (FerretDB's bulk upsert replies lack the fields
        PyMongo reads). A concurrent first upsert of the same key fails with a duplicate key
        (FerretDB upserts are not atomic); it is retried once, as a plain update by then."""
        await asyncio.gather(*(self._add_one(key, n) for key, n in counts.items()))

    async def _add_one(self, key: Key, n: int) -> None:
        flt, update = _op(key, n)
        for last in (False, True):
            try:
                async with translated():
                    await self._col.update_one(flt, update, upsert=True)
                return
            except Duplicate:
                if last:
                    raise

    async def query(self, since: datetime, until: datetime, step_s: int,
                    outcome: str | None, type_prefix: str | None) -> list[Doc]:
        """The counts in [since, until) at the coarsest stored resolution that divides `step_s` and
        on whose grid `since` lies, so no stored bucket straddles a requested one."""
        offset = int(since.timestamp())
        res = max(r for r in RESOLUTIONS if step_s % r == 0 and offset % r == 0)
        flt: Doc = {"res": res, "start": {"$gte": since, "$lt": until}}
        if outcome:
            flt["outcome"] = outcome
        if type_prefix:
            flt["type"] = {"$regex": "^" + type_prefix.replace(".", r"\.")}
        async with translated():
            return await self._col.find(flt).to_list()


def _op(key: Key, n: int) -> tuple[Doc, Doc]:
    res, start, type_, outcome = key
    doc_id = f"{res}:{int(start.timestamp())}:{type_}:{outcome}"
    return {"_id": doc_id}, {"$inc": {"count": n},
                             "$setOnInsert": {"res": res, "start": start, "type": type_, "outcome": outcome,
                                              "expires": start + timedelta(days=30 if res > 1 else 2)}}
