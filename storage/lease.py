"""A lease in MongoDB: at most one holder at a time, until it stops renewing.

Used so that exactly one outbox relay publishes at a time when several processes run: two relays
would each publish, and a record of one aggregate could overtake another on Kafka. Two plain
single-document writes, no upsert race (FerretDB's upserts are not atomic).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import Duplicate, translated
from storage.mongo import Doc


class Lease:
    """`await lease.hold()` is True while this owner holds (and has just renewed) the lease."""

    def __init__(self, db: AsyncDatabase[Doc], name: str, owner: str, ttl_s: float = 10.0) -> None:
        self._col = db.leases
        self._name = name
        self.owner = owner
        self._ttl = timedelta(seconds=ttl_s)

    async def hold(self) -> bool:
        now = datetime.now(UTC)
        with contextlib.suppress(Duplicate):
            async with translated():
                await self._col.insert_one({"_id": self._name, "owner": self.owner,
                                            "expires": now + self._ttl})
        async with translated():
            res = await self._col.update_one(
                {"_id": self._name, "$or": [{"owner": self.owner}, {"expires": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires": now + self._ttl}})
        return res.matched_count == 1

    async def release(self) -> None:
        async with translated():
            await self._col.update_one({"_id": self._name, "owner": self.owner},
                                       {"$set": {"expires": datetime.fromtimestamp(0, UTC)}})
