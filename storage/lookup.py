"""Read-only look-ups across collections: `search` and the service totals of `stats.get`."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from storage.accounts import LIVE, descriptor_count
from storage.errors import translated
from storage.mongo import Doc

SEARCH_ORDER = (("list", "lists"), ("account", "accounts"), ("token", "tokens"), ("face", "faces"),
                ("person", "persons"))
TASK_STATUSES = ("in_progress", "done", "cancelled", "failed")


class Lookup:
    """Finds documents by id in the order `search` wants, and counts everything."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._db = db

    async def by_id(self, object_id: str) -> tuple[str, Doc] | None:
        """The first of list, account, token, face, person with this id."""
        async with translated():
            for kind, collection in SEARCH_ORDER:
                doc = await self._db[collection].find_one({"_id": object_id, **LIVE})
                if doc is not None:
                    return kind, doc
        return None

    async def account_by_email(self, email: str) -> Doc | None:
        async with translated():
            return await self._db.accounts.find_one({"email_lower": email.lower(), **LIVE})

    async def totals(self) -> dict[str, object]:
        db = self._db
        async with translated():
            versions = await db.faces.distinct("descriptor_versions", LIVE)
            return {
                "accounts": await db.accounts.count_documents(LIVE),
                "blocked_accounts": await db.accounts.count_documents({"blocked": True}),
                "persons": await db.persons.count_documents(LIVE),
                "lists": await db.lists.count_documents(LIVE),
                "faces": await db.faces.count_documents(LIVE),
                "descriptors": {v: await db.faces.count_documents({"descriptor_versions": v, **LIVE})
                                for v in sorted(versions)},
                "tokens": await db.tokens.count_documents(LIVE),
                "tasks": {s: await db.tasks.count_documents({"status": s}) for s in TASK_STATUSES},
            }


__all__ = ["Lookup", "descriptor_count"]
