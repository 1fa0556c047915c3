"""Person handlers. A face's `person_id` is the only link between a person and its faces, so "a face
belongs to at most one person" holds by a conditional update of that one face."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from consumers.handlers.faces import remove_face
from consumers.handlers.guards import active_account, skip
from consumers.handlers.objects import live_face, live_person, same_account, stamp
from consumers.ports import Context, Deps, Event, Handled
from contracts import persons as c
from contracts.base import Empty
from contracts.errors import ErrorCode, PermanentError
from storage.errors import Duplicate
from storage.persons import PersonRecord


def luna_person(rec: PersonRecord, faces: list[UUID]) -> c.LunaPerson:
    return c.LunaPerson(person_id=rec.person_id, account_id=rec.account_id, faces=faces,
                        lists=list(rec.lists), user_data=rec.user_data, external_id=rec.external_id,
                        create_time=rec.create_time)


async def _luna(deps: Deps, rec: PersonRecord) -> c.LunaPerson:
    return luna_person(rec, [f.face_id for f in await deps.faces.of_persons([rec.person_id])])


def _changed(kind: str, result: c.LunaPerson, **extra: object) -> Handled:
    data = {**result.model_dump(mode="json"), **extra}
    return Handled(result=result, key=result.account_id, events=[Event(kind, result.account_id, data)])


async def create_person(cmd: c.PersonCreate, ctx: Context, deps: Deps) -> Handled:
    """A new person. A redelivered create finds the person it made before (`created_by`)."""
    await active_account(deps, cmd.account_id)
    person_id = cmd.person_id or ctx.new_id("person")
    rec = PersonRecord(person_id, cmd.account_id, cmd.user_data, cmd.external_id, (), stamp(ctx),
                       ctx.command_id)
    try:
        await deps.persons.insert(rec)
    except Duplicate:
        if await deps.persons.created_by(person_id) != ctx.command_id:
            raise PermanentError(ErrorCode.INVALID_PAYLOAD,
                                 f"payload.person_id: person {person_id} already exists") from None
    return _changed("person.created", await _luna(deps, await live_person(deps, person_id)))


async def get_person(cmd: c.PersonGet, ctx: Context, deps: Deps) -> Handled:
    """One person with its faces and lists."""
    rec = await live_person(deps, cmd.person_id)
    return Handled(result=await _luna(deps, rec), key=rec.account_id)


async def list_persons(cmd: c.PersonList, ctx: Context, deps: Deps) -> Handled:
    """A page of persons, oldest first."""
    recs, total = await deps.persons.page(skip(cmd.page, cmd.page_size), cmd.page_size, cmd.account_id,
                                          cmd.external_id)
    faces: dict[UUID, list[UUID]] = defaultdict(list)
    for face in await deps.faces.of_persons([r.person_id for r in recs]) if recs else []:
        if face.person_id is not None:
            faces[face.person_id].append(face.face_id)
    persons = [luna_person(r, faces[r.person_id]) for r in recs]
    return Handled(result=c.PersonPage(persons=persons, person_count=total), key=cmd.account_id)


async def update_person(cmd: c.PersonUpdate, ctx: Context, deps: Deps) -> Handled:
    """New `user_data` and/or `external_id` (absolute values: a redelivery sets the same)."""
    rec = await live_person(deps, cmd.person_id)
    await active_account(deps, rec.account_id)
    fields = {k: v for k, v in (("user_data", cmd.user_data), ("external_id", cmd.external_id))
              if v is not None}
    updated = await deps.persons.update(cmd.person_id, **fields) if fields else None
    return _changed("person.updated", await _luna(deps, updated or await live_person(deps, cmd.person_id)))


async def delete_person(cmd: c.PersonDelete, ctx: Context, deps: Deps) -> Handled:
    """Delete the person: its faces become free (`person_id` null, the input of garbage collection),
    or, `with_faces`, go too with their samples. Its lists lose a member, so their
    `last_update_time` moves to the deletion time. The tombstone comes first and keeps the first
    attempt's time, so a redelivery finishes the same work with the same time."""
    rec = await live_person(deps, cmd.person_id, deleted_by=ctx.command_id)
    await active_account(deps, rec.account_id)
    gone = await deps.persons.tombstone(rec.person_id, ctx.command_id, stamp(ctx))
    if gone is None or gone.deleted_at is None:  # deleted by another command meanwhile
        raise PermanentError(ErrorCode.PERSON_NOT_FOUND, f"person {cmd.person_id} not found")
    if cmd.with_faces:
        for face in await deps.faces.of_persons([rec.person_id], deleted_by=ctx.command_id):
            await remove_face(face, ctx, deps, gone.deleted_at)
    else:
        await deps.faces.free(rec.person_id, gone.deleted_at)
    await deps.lists.touch(list(gone.lists), gone.deleted_at)
    data = {"person_id": str(rec.person_id), "with_faces": cmd.with_faces}
    return Handled(result=Empty(), key=rec.account_id, events=[Event("person.deleted", rec.account_id, data)])


async def link_face(cmd: c.PersonLinkFace, ctx: Context, deps: Deps) -> Handled:
    """Link a free face of the same account (40005); 40003 when it is another person's. The link is
    a conditional update of the face, so of two racing links to different persons one wins. A
    person deleted meanwhile (another consumer of this queue) gets the face back: 22007."""
    person = await live_person(deps, cmd.person_id)
    await active_account(deps, person.account_id)
    face = await live_face(deps, cmd.face_id)
    same_account("face", face.face_id, face.account_id, person.account_id)
    if face.person_id is None:
        await deps.faces.link(face.face_id, person.person_id, stamp(ctx))
        face = await live_face(deps, cmd.face_id)
    if face.person_id != person.person_id:
        raise PermanentError(ErrorCode.FACE_LINKED_ELSEWHERE,
                             f"face {face.face_id} is linked to person {face.person_id}")
    if await deps.persons.get(person.person_id) is None:
        await deps.faces.unlink(face.face_id, person.person_id, stamp(ctx))
        raise PermanentError(ErrorCode.PERSON_NOT_FOUND, f"person {cmd.person_id} was deleted meanwhile")
    return _changed("person.face_linked", await _luna(deps, person), face_id=str(face.face_id))


async def unlink_face(cmd: c.PersonUnlinkFace, ctx: Context, deps: Deps) -> Handled:
    """Free a face of this person; a face linked to no person stays as it is, one linked to another
    person is 40003."""
    person = await live_person(deps, cmd.person_id)
    await active_account(deps, person.account_id)
    face = await live_face(deps, cmd.face_id)
    same_account("face", face.face_id, face.account_id, person.account_id)
    if face.person_id not in (None, person.person_id):
        raise PermanentError(ErrorCode.FACE_LINKED_ELSEWHERE,
                             f"face {face.face_id} is linked to person {face.person_id}")
    await deps.faces.unlink(face.face_id, person.person_id, stamp(ctx))
    return _changed("person.face_unlinked", await _luna(deps, person), face_id=str(face.face_id))
