"""Face handlers: `face.create` is how descriptors enter the system (photo or aligned sample → sample
in the image store → descriptor of the current extractor → face)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from consumers.descriptors import pack
from consumers.extractor import CURRENT_VERSION
from consumers.handlers.guards import active_account, skip
from consumers.handlers.objects import live_face, live_person, same_account, stamp, unique
from consumers.ports import Context, Deps, Event, Handled
from consumers.samples import Sample
from contracts import faces as c
from contracts.base import Empty
from contracts.errors import ErrorCode, PermanentError
from storage.errors import Duplicate
from storage.faces import FaceRecord


def face_model(rec: FaceRecord) -> c.Face:
    return c.Face(face_id=rec.face_id, account_id=rec.account_id, person_id=rec.person_id,
                  lists=list(rec.lists), descriptor_versions=list(rec.descriptor_versions),
                  create_time=rec.create_time, last_update_time=rec.last_update_time)


async def create_face(cmd: c.FaceCreate, ctx: Context, deps: Deps) -> Handled:
    """Detect (largest face) and align, or take the given sample; store the sample, extract the
    descriptor, store the face in the given person and lists.

    Idempotent: the face id and the sample id derive from the command, the image store keeps one
    file per sample id, and a redelivery that finds its face (`created_by`) skips extraction. The
    person and the lists are checked again after the insert: one deleted meanwhile (by a command of
    another queue) is let go, as if that delete came after this create.
    """
    await active_account(deps, cmd.account_id)
    face_id = cmd.face_id or ctx.new_id("face")
    creator = await deps.faces.created_by(face_id)
    if creator not in (None, ctx.command_id):
        raise _taken(face_id)
    if creator is None:  # else the first attempt checked, and `_let_go_of_deleted` handles changes since
        await _make(cmd, ctx, deps, face_id)
    face = await live_face(deps, face_id)
    await deps.lists.touch(list(face.lists), face.create_time)
    await _let_go_of_deleted(face, ctx, deps)
    result = face_model(await live_face(deps, face_id))
    return Handled(result=result, key=cmd.account_id,
                   events=[Event("face.created", cmd.account_id, result.model_dump(mode="json"))])


async def _make(cmd: c.FaceCreate, ctx: Context, deps: Deps, face_id: UUID) -> None:
    """Check, extract and insert; every step repeats harmlessly after a crash."""
    list_ids = unique(cmd.list_ids)
    await _check_targets(cmd, list_ids, deps)
    sample = await deps.engine.sample(cmd.image) if cmd.image is not None else _given(cmd.sample)
    sample_id = str(ctx.new_id("sample"))
    await deps.images.put(sample_id, sample.to_png())
    descriptor = pack(await deps.engine.descriptor(CURRENT_VERSION, sample))
    at = stamp(ctx)
    rec = FaceRecord(face_id, cmd.account_id, cmd.person_id, tuple(list_ids), (CURRENT_VERSION,),
                     sample_id, at, at, ctx.command_id)
    try:
        await deps.faces.insert(rec, {CURRENT_VERSION: descriptor})
    except Duplicate:
        if await deps.faces.created_by(face_id) != ctx.command_id:  # another command won the id
            await deps.images.delete(sample_id)
            raise _taken(face_id) from None


def _taken(face_id: UUID) -> PermanentError:
    return PermanentError(ErrorCode.INVALID_PAYLOAD, f"payload.face_id: face {face_id} already exists")


def _given(data: bytes | None) -> Sample:
    """A caller's aligned sample: a 150×150 PNG or JPEG, else 40007."""
    assert data is not None  # the contract requires exactly one of image and sample
    return Sample.from_png(data)


async def _check_targets(cmd: c.FaceCreate, list_ids: list[UUID], deps: Deps) -> None:
    """The person (22007) and lists (11019) exist, belong to the account (40005) and the lists hold
    descriptors (40004)."""
    if cmd.person_id is not None:
        person = await live_person(deps, cmd.person_id)
        same_account("person", person.person_id, person.account_id, cmd.account_id)
    found = {r.list_id: r for r in await deps.lists.get_many(list_ids)}
    for list_id in list_ids:
        rec = found.get(list_id)
        if rec is None:
            raise PermanentError(ErrorCode.LIST_NOT_FOUND, f"list {list_id} not found")
        same_account("list", list_id, rec.account_id, cmd.account_id)
        if rec.type != "descriptors":
            raise PermanentError(ErrorCode.MEMBER_KIND_MISMATCH,
                                 f"list {list_id} is a {rec.type} list; faces go to descriptors lists")


async def _let_go_of_deleted(face: FaceRecord, ctx: Context, deps: Deps) -> None:
    """A person or list deleted after the checks (by a command of another queue or consumer) lets go
    of the face, as if that delete had come after this create."""
    if face.person_id is not None and await deps.persons.get(face.person_id) is None:
        await deps.faces.unlink(face.face_id, face.person_id, face.create_time)
    live = {r.list_id for r in await deps.lists.get_many(list(face.lists))}
    for list_id in set(face.lists) - live:
        await deps.faces.undo_attach(list_id, [face.face_id], ctx.command_id)


async def get_face(cmd: c.FaceGet, ctx: Context, deps: Deps) -> Handled:
    """One face (its descriptor versions, not the descriptors)."""
    rec = await live_face(deps, cmd.face_id)
    return Handled(result=face_model(rec), key=rec.account_id)


async def list_faces(cmd: c.FaceList, ctx: Context, deps: Deps) -> Handled:
    """A page of faces, oldest first."""
    recs, total = await deps.faces.page(skip(cmd.page, cmd.page_size), cmd.page_size, cmd.account_id,
                                        cmd.person_id, cmd.free)
    return Handled(result=c.FacePage(faces=[face_model(r) for r in recs], face_count=total),
                   key=cmd.account_id)


async def delete_face(cmd: c.FaceDelete, ctx: Context, deps: Deps) -> Handled:
    """Delete the face, its descriptors and its sample; its lists lose a member."""
    rec = await live_face(deps, cmd.face_id, deleted_by=ctx.command_id)
    await active_account(deps, rec.account_id)
    await remove_face(rec, ctx, deps, stamp(ctx))
    return Handled(result=Empty(), key=rec.account_id,
                   events=[Event("face.deleted", rec.account_id, {"face_id": str(rec.face_id)})])


async def remove_face(rec: FaceRecord, ctx: Context, deps: Deps, at: datetime) -> None:
    """Tombstone the face (or find this command's tombstone), remove its sample, and move its lists'
    `last_update_time` to the deletion time (their member count just changed). Every step can be
    repeated by a redelivery with the same outcome; the first attempt's time is kept."""
    gone = await deps.faces.tombstone(rec.face_id, ctx.command_id, at)
    if gone is None or gone.deleted_at is None:  # deleted by another command meanwhile
        return
    if gone.sample_id:
        await deps.images.delete(gone.sample_id)
    await deps.lists.touch(list(gone.lists), gone.deleted_at)
