"""person.* end to end: lifecycle, links (a face belongs to at most one person), deletion with and
without faces, redelivery, blocked accounts. Faces come from samples, to keep extraction short."""

from __future__ import annotations

import base64
import io
import uuid
from typing import Any

import numpy as np
import pytest
from PIL import Image

from service.client import envelope
from tests.e2e.support import new_account, ok


async def _account(call: Any) -> str:
    return await new_account(call, "persons")


_ok = ok


@pytest.fixture(scope="module")
def sample_b64() -> str:
    """A 150×150 crop around the astronaut's face: a valid sample (the descriptor does not matter)."""
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(data.astronaut()[40:190, 140:290])).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def _face(call: Any, account_id: str, sample: str, **extra: Any) -> str:
    face = await _ok(call, "face.create", {"account_id": account_id, "sample": sample, **extra})
    return str(face["face_id"])


async def test_person_lifecycle_and_errors(call: Any, code: Any, client: Any, results: Any,
                                           events: Any, service: Any) -> None:
    account_id = await _account(call)
    create = envelope("person.create", {"account_id": account_id, "user_data": "Ann", "external_id": "e-1"})
    await client.publish(create)
    await client.publish(create)
    both = await results.wait_for(count=2, command_id=create["command_id"])
    assert both[0]["value"] == both[1]["value"]
    ann = both[0]["value"]["result"]
    assert (ann["faces"], ann["lists"], ann["external_id"]) == ([], [], "e-1")
    assert await service.db.persons.count_documents({"account_id": account_id}) == 1
    await events.wait_for(type="person.created", account_id=account_id)
    bob = await _ok(call, "person.create", {"account_id": account_id, "user_data": "Bob"})
    assert bob["external_id"] is None

    assert await _ok(call, "person.get", {"person_id": ann["person_id"]}) == ann
    updated = await _ok(call, "person.update", {"person_id": ann["person_id"], "user_data": "Anna"})
    assert updated == {**ann, "user_data": "Anna"}
    moved = await _ok(call, "person.update", {"person_id": bob["person_id"], "external_id": "e-2"})
    assert (moved["user_data"], moved["external_id"]) == ("Bob", "e-2")
    page = await _ok(call, "person.list", {"account_id": account_id, "page": 2, "page_size": 1})
    assert page["person_count"] == 2 and [p["person_id"] for p in page["persons"]] == [bob["person_id"]]
    by_external = await _ok(call, "person.list", {"account_id": account_id, "external_id": "e-1"})
    assert [p["user_data"] for p in by_external["persons"]] == ["Anna"]

    unknown = str(uuid.uuid4())
    assert code(await call("person.create", {"account_id": unknown})) == 11002
    assert code(await call("person.create", {"account_id": account_id, "user_data": "u" * 129})) == 11015
    assert code(await call("person.create", {"account_id": account_id,
                                             "person_id": ann["person_id"]})) == 12022
    assert code(await call("person.get", {"person_id": unknown})) == 22007
    assert code(await call("person.update", {"person_id": unknown, "user_data": "x"})) == 22007
    assert code(await call("person.delete", {"person_id": unknown})) == 22007
    assert code(await call("person.list", {"page": 0})) == 12022


async def test_a_face_belongs_to_at_most_one_person(call: Any, code: Any, sample_b64: str) -> None:
    account_id, stranger = await _account(call), await _account(call)
    ann, bob = [(await _ok(call, "person.create", {"account_id": account_id}))["person_id"] for _ in "ab"]
    face = await _face(call, account_id, sample_b64)
    foreign = await _face(call, stranger, sample_b64)

    linked = await _ok(call, "person.link_face", {"person_id": ann, "face_id": face})
    assert linked["faces"] == [face]
    assert await _ok(call, "person.link_face", {"person_id": ann, "face_id": face}) == linked
    assert (await _ok(call, "face.get", {"face_id": face}))["person_id"] == ann
    assert code(await call("person.link_face", {"person_id": bob, "face_id": face})) == 40003
    assert code(await call("person.unlink_face", {"person_id": bob, "face_id": face})) == 40003
    assert code(await call("person.link_face", {"person_id": ann, "face_id": str(uuid.uuid4())})) == 40002
    assert code(await call("person.link_face", {"person_id": ann, "face_id": foreign})) == 40005
    assert code(await call("person.link_face", {"person_id": str(uuid.uuid4()), "face_id": face})) == 22007
    assert code(await call("person.unlink_face", {"person_id": ann, "face_id": str(uuid.uuid4())})) == 40002

    unlinked = await _ok(call, "person.unlink_face", {"person_id": ann, "face_id": face})
    assert unlinked["faces"] == []
    assert await _ok(call, "person.unlink_face", {"person_id": ann, "face_id": face}) == unlinked
    assert (await _ok(call, "face.get", {"face_id": face}))["person_id"] is None


async def test_redelivered_link_and_unlink_have_one_effect(
        call: Any, client: Any, results: Any, sample_b64: str) -> None:
    account_id = await _account(call)
    person = (await _ok(call, "person.create", {"account_id": account_id}))["person_id"]
    face = await _face(call, account_id, sample_b64)
    for type_, faces in (("person.link_face", [face]), ("person.unlink_face", [])):
        cmd = envelope(type_, {"person_id": person, "face_id": face})
        await client.publish(cmd)
        await client.publish(cmd)
        both = await results.wait_for(count=2, command_id=cmd["command_id"])
        assert both[0]["value"] == both[1]["value"]
        assert both[0]["value"]["result"]["faces"] == faces


async def test_delete_without_faces_frees_them_and_leaves_lists(
        call: Any, client: Any, results: Any, service: Any, sample_b64: str) -> None:
    account_id = await _account(call)
    person = (await _ok(call, "person.create", {"account_id": account_id}))["person_id"]
    faces = [await _face(call, account_id, sample_b64, person_id=person) for _ in range(2)]
    list_id = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    before = await _ok(call, "list.attach", {"list_id": list_id, "person_ids": [person]})

    delete = envelope("person.delete", {"person_id": person})
    await client.publish(delete)
    await client.publish(delete)
    both = await results.wait_for(count=2, command_id=delete["command_id"])
    assert [b["value"]["result"] for b in both] == [{}, {}]
    for face_id in faces:
        assert (await _ok(call, "face.get", {"face_id": face_id}))["person_id"] is None
    free = await _ok(call, "face.list", {"account_id": account_id, "free": True})
    assert sorted(f["face_id"] for f in free["faces"]) == sorted(faces)
    after = await _ok(call, "list.get", {"list_id": list_id})
    assert after["count_object_in_list"] == 0 and after["last_update_time"] > before["last_update_time"]
    stats = (await _ok(call, "account.get", {"account_id": account_id}))["stats"]
    assert (stats["person_count"], stats["descriptor_count"]) == (0, 2)
    assert await service.db["samples.files"].count_documents({}) == 2


async def test_delete_with_faces_removes_faces_and_samples(
        call: Any, code: Any, client: Any, results: Any, service: Any, sample_b64: str) -> None:
    account_id = await _account(call)
    person = (await _ok(call, "person.create", {"account_id": account_id}))["person_id"]
    other = (await _ok(call, "person.create", {"account_id": account_id}))["person_id"]
    faces = [await _face(call, account_id, sample_b64, person_id=person) for _ in range(2)]
    kept = await _face(call, account_id, sample_b64, person_id=other)
    samples = [(await service.db.faces.find_one({"_id": f}))["sample_id"] for f in faces]

    delete = envelope("person.delete", {"person_id": person, "with_faces": True})
    await client.publish(delete)
    await client.publish(delete)
    both = await results.wait_for(count=2, command_id=delete["command_id"])
    assert both[0]["value"] == both[1]["value"] and both[0]["value"]["status"] == "ok"
    for face_id in faces:
        assert code(await call("face.get", {"face_id": face_id})) == 40002
    assert await service.db["samples.files"].count_documents({"_id": {"$in": samples}}) == 0
    assert (await _ok(call, "face.get", {"face_id": kept}))["person_id"] == other
    stats = (await _ok(call, "account.get", {"account_id": account_id}))["stats"]
    assert (stats["person_count"], stats["descriptor_count"]) == (1, 1)
    assert code(await call("person.get", {"person_id": person})) == 22007


async def test_blocked_account_keeps_persons_readable_but_unchangeable(
        call: Any, code: Any, sample_b64: str) -> None:
    account_id = await _account(call)
    person = (await _ok(call, "person.create", {"account_id": account_id}))["person_id"]
    face = await _face(call, account_id, sample_b64, person_id=person)
    free = await _face(call, account_id, sample_b64)
    await _ok(call, "account.block", {"account_id": account_id})

    assert code(await call("person.create", {"account_id": account_id})) == 11004
    assert code(await call("person.update", {"person_id": person, "user_data": "x"})) == 11004
    assert code(await call("person.link_face", {"person_id": person, "face_id": free})) == 11004
    assert code(await call("person.unlink_face", {"person_id": person, "face_id": face})) == 11004
    assert code(await call("person.delete", {"person_id": person})) == 11004
    assert (await _ok(call, "person.get", {"person_id": person}))["faces"] == [face]
    assert (await _ok(call, "person.list", {"account_id": account_id}))["person_count"] == 1
