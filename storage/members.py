"""List membership, kept on the members (persons or faces).

A member document carries `lists` (the ids of the lists it is in: a flat array of strings, which
`$addToSet`/`$pull` handle on FerretDB v1 too) and `list_marks`, `{list id: {"by": command id,
"at": time}}`: the last command that effectively changed its membership in that list, and when.
`count_object_in_list` is counted from `lists` whenever it is asked for, never kept as a counter,
so it is exact under any interleaving of attaches, detaches and redeliveries.

Why the marks. Without multi-document transactions, changing members and advancing the list's
`last_update_time` are separate writes. A crash between them followed by a redelivery finds the
members already changed, so its conditional update modifies nothing, and it could not tell "this
command made the change, then crashed" (the time must move) from "nothing to change" (the time
must stay). The mark is written by the same single-document update that changes the membership, so
it is exactly as durable as the change: a redelivery looks for members marked with its own command
id and moves the list's time to their stored `at`, the time of the first attempt. Whether or not a
crash happened, the list ends with the same time; the list uses `$max`, so concurrent commands
never move it backwards.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pymongo.asynchronous.collection import AsyncCollection

from storage.accounts import LIVE
from storage.errors import translated
from storage.mongo import Doc


def _mark(list_id: UUID) -> str:
    return f"list_marks.{list_id}"


def _ids(ids: list[UUID]) -> Doc:
    return {"$in": [str(i) for i in ids]}


class Members:
    """Membership operations on one member collection. With `touch`, a member's own
    `last_update_time` moves with its membership too (faces: garbage collection reads it)."""

    def __init__(self, col: AsyncCollection[Doc], touch: bool) -> None:
        self._col = col
        self._touch = touch

    async def owners(self, ids: list[UUID]) -> dict[UUID, UUID]:
        """Live members among `ids`, each with its account id."""
        async with translated():
            docs = await self._col.find({"_id": _ids(ids), **LIVE}, {"account_id": 1}).to_list()
        return {UUID(d["_id"]): UUID(d["account_id"]) for d in docs}

    async def attach(self, list_id: UUID, account_id: UUID, ids: list[UUID], command_id: UUID,
                     at: datetime) -> None:
        """Add to the list the live members of the account that are not in it yet, marking them."""
        flt = {"_id": _ids(ids), "account_id": str(account_id), "lists": {"$ne": str(list_id)}, **LIVE}
        await self._change(flt, {"$addToSet": {"lists": str(list_id)}}, list_id, command_id, at)

    async def detach(self, list_id: UUID, ids: list[UUID], command_id: UUID, at: datetime) -> None:
        """Remove from the list those of `ids` that are in it, marking them."""
        flt = {"_id": _ids(ids), "lists": str(list_id)}
        await self._change(flt, {"$pull": {"lists": str(list_id)}}, list_id, command_id, at)

    async def _change(self, flt: Doc, update: Doc, list_id: UUID, command_id: UUID, at: datetime) -> None:
        fields: Doc = {_mark(list_id): {"by": str(command_id), "at": at}}
        if self._touch:
            fields["last_update_time"] = at
        async with translated():
            await self._col.update_many(flt, {**update, "$set": fields})

    async def changed_by(self, list_id: UUID, ids: list[UUID], command_id: UUID) -> dict[UUID, datetime]:
        """The members among `ids` whose last membership change in the list was `command_id`'s
        (by this attempt or an earlier one), with the time it was made."""
        async with translated():
            docs = await self._col.find({"_id": _ids(ids), f"{_mark(list_id)}.by": str(command_id)},
                                        {_mark(list_id): 1}).to_list()
        return {UUID(d["_id"]): d["list_marks"][str(list_id)]["at"] for d in docs}

    async def undo_attach(self, list_id: UUID, ids: list[UUID], command_id: UUID) -> None:
        """Take back what `command_id` attached (its list was deleted meanwhile)."""
        async with translated():
            await self._col.update_many(
                {"_id": _ids(ids), f"{_mark(list_id)}.by": str(command_id), "lists": str(list_id)},
                {"$pull": {"lists": str(list_id)}, "$unset": {_mark(list_id): ""}})

    async def count_in(self, list_id: UUID) -> int:
        """`count_object_in_list`: live members whose `lists` holds the list."""
        async with translated():
            return await self._col.count_documents({"lists": str(list_id), **LIVE})

    async def count_many(self, list_ids: list[UUID]) -> dict[UUID, int]:
        """`count_in` for several lists in one round trip (a page of `list.list`)."""
        if not list_ids:
            return {}
        wanted = [str(i) for i in list_ids]
        pipeline: list[Doc] = [{"$match": {"lists": {"$in": wanted}, **LIVE}}, {"$unwind": "$lists"},
                               {"$match": {"lists": {"$in": wanted}}},
                               {"$group": {"_id": "$lists", "n": {"$sum": 1}}}]
        async with translated():
            docs = await (await self._col.aggregate(pipeline)).to_list()
        counts = {UUID(d["_id"]): int(d["n"]) for d in docs}
        return {i: counts.get(i, 0) for i in list_ids}

    async def release(self, list_id: UUID, account_id: UUID, at: datetime) -> None:
        """The list is deleted: every member leaves it, and its marks go."""
        touch: Doc = {"$set": {"last_update_time": at}} if self._touch else {}
        async with translated():
            await self._col.update_many(
                {"account_id": str(account_id), "lists": str(list_id)},
                {"$pull": {"lists": str(list_id)}, "$unset": {_mark(list_id): ""}, **touch})
            await self._col.update_many(
                {"account_id": str(account_id), _mark(list_id): {"$exists": True}},
                {"$unset": {_mark(list_id): ""}})
