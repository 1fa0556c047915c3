"""List handlers. Members are kept on the members (`storage.members`): `count_object_in_list` is
counted from the store on every read, and `last_update_time` moves only with a membership change,
to the time that change was made (see `_change`)."""

from __future__ import annotations

from uuid import UUID

from consumers.handlers.guards import active_account, skip
from consumers.handlers.objects import check_members, live_list, members_of, stamp, unique
from consumers.ports import Context, Deps, Event, Handled
from consumers.ports_faces import MemberStore
from contracts import lists as c
from contracts.base import Empty
from contracts.errors import ErrorCode, PermanentError
from storage.errors import Duplicate
from storage.lists import ListRecord


def luna_list(rec: ListRecord, count: int) -> c.LunaList:
    return c.LunaList(list_id=rec.list_id, account_id=rec.account_id, user_data=rec.user_data,
                      type=rec.type, count_object_in_list=count,
                      last_update_time=rec.last_update_time)


async def _luna(deps: Deps, rec: ListRecord) -> c.LunaList:
    return luna_list(rec, await members_of(deps, rec.type).count_in(rec.list_id))


def _event(kind: str, result: c.LunaList, **extra: object) -> Event:
    return Event(kind, result.account_id, {**result.model_dump(mode="json"), **extra})


async def create_list(cmd: c.ListCreate, ctx: Context, deps: Deps) -> Handled:
    """A new, empty list. A redelivered create finds the list it made before (`created_by`)."""
    await active_account(deps, cmd.account_id)
    list_id = cmd.list_id or ctx.new_id("list")
    at = stamp(ctx)
    try:
        await deps.lists.insert(ListRecord(list_id, cmd.account_id, cmd.type, cmd.user_data, at, at,
                                           ctx.command_id))
    except Duplicate:
        if await deps.lists.created_by(list_id) != ctx.command_id:
            raise PermanentError(ErrorCode.INVALID_PAYLOAD,
                                 f"payload.list_id: list {list_id} already exists") from None
    result = await _luna(deps, await live_list(deps, list_id))
    return Handled(result=result, key=cmd.account_id, events=[_event("list.created", result)])


async def get_list(cmd: c.ListGet, ctx: Context, deps: Deps) -> Handled:
    """One list with its exact member count."""
    rec = await live_list(deps, cmd.list_id)
    return Handled(result=await _luna(deps, rec), key=rec.account_id)


async def list_lists(cmd: c.ListList, ctx: Context, deps: Deps) -> Handled:
    """A page of lists, oldest first."""
    recs, total = await deps.lists.page(skip(cmd.page, cmd.page_size), cmd.page_size, cmd.account_id,
                                        cmd.type)
    counts: dict[UUID, int] = {}
    for list_type in {r.type for r in recs}:  # one counting round trip per member collection
        ids = [r.list_id for r in recs if r.type == list_type]
        counts |= await members_of(deps, list_type).count_many(ids)
    lists = [luna_list(r, counts[r.list_id]) for r in recs]
    return Handled(result=c.ListPage(lists=lists, list_count=total), key=cmd.account_id)


async def update_list(cmd: c.ListUpdate, ctx: Context, deps: Deps) -> Handled:
    """New `user_data` (membership, and so `last_update_time`, unchanged)."""
    rec = await live_list(deps, cmd.list_id)
    await active_account(deps, rec.account_id)
    rec = await deps.lists.update(cmd.list_id, cmd.user_data) or await live_list(deps, cmd.list_id)
    result = await _luna(deps, rec)
    return Handled(result=result, key=rec.account_id, events=[_event("list.updated", result)])


async def delete_list(cmd: c.ListDelete, ctx: Context, deps: Deps) -> Handled:
    """Delete the list; its members are detached, nothing else is deleted. The tombstone comes
    first, so attaches racing with the delete see the list gone (see `_change`); a redelivery finds
    its own tombstone and detaches again whatever is left."""
    rec = await live_list(deps, cmd.list_id, deleted_by=ctx.command_id)
    await active_account(deps, rec.account_id)
    gone = await deps.lists.tombstone(rec.list_id, ctx.command_id, stamp(ctx))
    if gone is None or gone.deleted_at is None:  # deleted by another command meanwhile
        raise PermanentError(ErrorCode.LIST_NOT_FOUND, f"list {cmd.list_id} not found")
    await members_of(deps, rec.type).release(rec.list_id, rec.account_id, gone.deleted_at)
    return Handled(result=Empty(), key=rec.account_id,
                   events=[Event("list.deleted", rec.account_id, {"list_id": str(rec.list_id)})])


async def attach(cmd: c.ListAttach, ctx: Context, deps: Deps) -> Handled:
    """Add persons to a persons list, faces to a descriptors list; members already in it count once."""
    return await _change(cmd, ctx, deps, attaching=True)


async def detach(cmd: c.ListDetach, ctx: Context, deps: Deps) -> Handled:
    """Remove members; ids that are not members change nothing."""
    return await _change(cmd, ctx, deps, attaching=False)


async def _change(cmd: c.ListAttach | c.ListDetach, ctx: Context, deps: Deps, attaching: bool) -> Handled:
    """One attach or detach, exact under concurrency, crashes and redelivery:

    1. each member changes by a conditional single-document update that also marks it with this
       command and time (`storage.members`), so no member is added or removed twice;
    2. the members marked by this command, in this attempt or an interrupted earlier one, say
       whether the command changed anything and when: the list's `last_update_time` moves (`$max`)
       to that time, and only then; a redelivery after a crash between 1 and 2 therefore still moves
       it, to the first attempt's time, and a repeated attach never moves it;
    3. an attach racing with `list.delete` checks the list afterwards: the delete tombstones the list
       before detaching everyone, so either the delete's detach sees this attach's members or this
       check sees the tombstone and takes the members back (11019).
    """
    rec = await live_list(deps, cmd.list_id)
    await active_account(deps, rec.account_id)
    store, ids = _members(deps, rec, cmd)
    await check_members(store, rec.type, ids, rec.account_id)
    if attaching:
        await store.attach(rec.list_id, rec.account_id, ids, ctx.command_id, stamp(ctx))
    else:
        await store.detach(rec.list_id, ids, ctx.command_id, stamp(ctx))
    changed = await store.changed_by(rec.list_id, ids, ctx.command_id)
    if changed:
        await deps.lists.touch([rec.list_id], max(changed.values()))
    current = await deps.lists.get(rec.list_id)  # one read: still there (3), and its new time
    if current is None:
        if attaching:
            await store.undo_attach(rec.list_id, ids, ctx.command_id)
        raise PermanentError(ErrorCode.LIST_NOT_FOUND, f"list {cmd.list_id} was deleted meanwhile")
    result = await _luna(deps, current)
    field = "person_ids" if rec.type == "persons" else "face_ids"
    event = _event("list.attached" if attaching else "list.detached", result,
                   **{field: sorted(str(i) for i in changed)})
    return Handled(result=result, key=rec.account_id, events=[event])


def _members(deps: Deps, rec: ListRecord, cmd: c.ListAttach | c.ListDetach) -> tuple[MemberStore, list[UUID]]:
    """The member store and ids of the command, or 40004 when they are not the list's kind."""
    ids = cmd.person_ids if rec.type == "persons" else cmd.face_ids
    if ids is None:
        given = "face_ids" if rec.type == "persons" else "person_ids"
        raise PermanentError(ErrorCode.MEMBER_KIND_MISMATCH,
                             f"list {rec.list_id} is a {rec.type} list; {given} cannot be members")
    return members_of(deps, rec.type), unique(ids)
