"""Lists, persons and faces as handlers load them: the object, or its not-found error code."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from consumers.ports import Context, Deps
from consumers.ports_faces import MemberStore
from contracts.errors import ErrorCode, PermanentError
from storage.faces import FaceRecord
from storage.lists import ListRecord
from storage.persons import PersonRecord


def stamp(ctx: Context) -> datetime:
    """The command's time as the store keeps it (milliseconds), so a result built from it equals the
    same result read back later, e.g. by a redelivery."""
    return ctx.now.replace(microsecond=ctx.now.microsecond // 1000 * 1000)


async def live_list(deps: Deps, list_id: UUID, deleted_by: UUID | None = None) -> ListRecord:
    """The list (or this command's own tombstone of it), or 11019."""
    rec = await deps.lists.get(list_id, deleted_by)
    if rec is None:
        raise PermanentError(ErrorCode.LIST_NOT_FOUND, f"list {list_id} not found")
    return rec


async def live_person(deps: Deps, person_id: UUID, deleted_by: UUID | None = None) -> PersonRecord:
    """The person (or this command's own tombstone of it), or 22007."""
    rec = await deps.persons.get(person_id, deleted_by)
    if rec is None:
        raise PermanentError(ErrorCode.PERSON_NOT_FOUND, f"person {person_id} not found")
    return rec


async def live_face(deps: Deps, face_id: UUID, deleted_by: UUID | None = None) -> FaceRecord:
    """The face (or this command's own tombstone of it), or 40002."""
    rec = await deps.faces.get(face_id, deleted_by)
    if rec is None:
        raise PermanentError(ErrorCode.FACE_NOT_FOUND, f"face {face_id} not found")
    return rec


def same_account(kind: str, object_id: UUID, owner: UUID, account_id: UUID) -> None:
    """40005 unless the object belongs to `account_id`."""
    if owner != account_id:
        raise PermanentError(ErrorCode.MEMBER_OTHER_ACCOUNT,
                             f"{kind} {object_id} belongs to another account than {account_id}")


def members_of(deps: Deps, list_type: str) -> MemberStore:
    """Where the members of a list of this type live: persons, or faces (descriptor lists)."""
    return deps.persons if list_type == "persons" else deps.faces


async def check_members(store: MemberStore, list_type: str, ids: list[UUID], account_id: UUID) -> None:
    """Every id is a live member of the list's account: else 22007 / 40002, or 40005."""
    owners = await store.owners(ids)
    kind = "person" if list_type == "persons" else "face"
    missing = [i for i in ids if i not in owners]
    if missing:
        code = ErrorCode.PERSON_NOT_FOUND if kind == "person" else ErrorCode.FACE_NOT_FOUND
        raise PermanentError(code, f"{kind} {missing[0]} not found")
    for member_id, owner in owners.items():
        same_account(kind, member_id, owner, account_id)


def unique(ids: list[UUID]) -> list[UUID]:
    """`ids` without repeats, in their order (attaching a member twice in one command is once)."""
    return list(dict.fromkeys(ids))
