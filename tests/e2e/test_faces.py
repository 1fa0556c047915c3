"""face.* end to end with real photos and the real extractor: the face, its descriptor and sample as
stored, idempotent creation across crashes and redeliveries, deletion, listing, errors."""

from __future__ import annotations

import base64
import io
import uuid
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from consumers.descriptors import unpack
from consumers.extractor import CURRENT_VERSION
from consumers.samples import SAMPLE_SIZE, Sample
from service.client import envelope
from tests.e2e.support import new_account, ok


def _b64(img: np.ndarray[Any, Any], fmt: str = "PNG") -> str:
    out = io.BytesIO()
    Image.fromarray(img).save(out, format=fmt)
    return base64.b64encode(out.getvalue()).decode()


@pytest.fixture(scope="module")
def astronaut() -> str:
    """skimage's astronaut as PNG: one real face (and a small false detection)."""
    from skimage import data

    return _b64(data.astronaut())


@pytest.fixture(scope="module")
def six_people() -> str:
    """insightface's t1.jpg: six different people (installed by deploy/local/setup.sh)."""
    path = distribution("insightface").locate_file("insightface/data/images/t1.jpg")
    return base64.b64encode(Path(str(path)).read_bytes()).decode()


async def _account(call: Any) -> str:
    return await new_account(call, "faces")


_ok = ok


async def test_face_from_photo_is_stored_with_descriptor_sample_person_and_list(
        call: Any, client: Any, results: Any, events: Any, service: Any, astronaut: str) -> None:
    from storage.images import GridFsImageStore

    db = service.db
    account_id = await _account(call)
    person = (await _ok(call, "person.create", {"account_id": account_id}))["person_id"]
    list_id = (await _ok(call, "list.create", {"account_id": account_id, "type": "descriptors"}))["list_id"]
    create = envelope("face.create", {"account_id": account_id, "image": astronaut, "person_id": person,
                                      "list_ids": [list_id, list_id]})
    await client.publish(create)
    await client.publish(create)  # redelivered: one face, one sample file, the same result
    both = await results.wait_for(count=2, command_id=create["command_id"])
    assert both[0]["value"] == both[1]["value"]
    face = both[0]["value"]["result"]
    assert face["descriptor_versions"] == [CURRENT_VERSION]
    assert (face["person_id"], face["lists"], face["account_id"]) == (person, [list_id], account_id)
    assert await _ok(call, "face.get", {"face_id": face["face_id"]}) == face

    doc = await db.faces.find_one({"_id": face["face_id"]})
    descriptor = unpack(doc["descriptors"][CURRENT_VERSION])
    assert descriptor.shape == (128,) and descriptor.dtype == np.float32 and np.linalg.norm(descriptor) > 0
    sample = Sample.from_png(await GridFsImageStore(db).get(doc["sample_id"]))
    assert sample.pixels.shape == (SAMPLE_SIZE, SAMPLE_SIZE, 3)
    assert await db["samples.files"].count_documents({}) == 1
    assert await db.faces.count_documents({"account_id": account_id}) == 1

    luna = await _ok(call, "list.get", {"list_id": list_id})
    assert luna["count_object_in_list"] == 1 and luna["last_update_time"] == face["create_time"]
    assert (await _ok(call, "person.get", {"person_id": person}))["faces"] == [face["face_id"]]
    stats = (await _ok(call, "account.get", {"account_id": account_id}))["stats"]
    assert stats == {"person_count": 1, "list_count": 1, "descriptor_count": 1, "token_count": 0}
    await events.wait_for(type="face.created", account_id=account_id)
    hit = await _ok(call, "search", {"q": face["face_id"]})
    assert hit["type"] == "face" and hit["data"]["person_id"] == person
    assert not {"descriptors", "list_marks", "created_by"} & set(hit["data"])


async def test_face_from_a_sample_and_the_largest_of_six_faces(
        call: Any, code: Any, service: Any, astronaut: str, six_people: str) -> None:
    from storage.images import GridFsImageStore

    db = service.db
    account_id = await _account(call)
    from_photo = (await _ok(call, "face.create", {"account_id": account_id, "image": astronaut}))["face_id"]
    photo_doc = await db.faces.find_one({"_id": from_photo})
    png = await GridFsImageStore(db).get(photo_doc["sample_id"])

    # The stored aligned crop, given back as a sample, gives exactly the same descriptor.
    from_sample = await _ok(call, "face.create", {"account_id": account_id,
                                                  "sample": base64.b64encode(png).decode()})
    assert from_sample["descriptor_versions"] == [CURRENT_VERSION]
    sample_doc = await db.faces.find_one({"_id": from_sample["face_id"]})
    assert sample_doc["descriptors"][CURRENT_VERSION] == photo_doc["descriptors"][CURRENT_VERSION]

    assert (await _ok(call, "face.create", {"account_id": account_id, "image": six_people}))[
        "descriptor_versions"] == [CURRENT_VERSION]
    too_small = _b64(np.zeros((100, 100, 3), np.uint8))
    assert code(await call("face.create", {"account_id": account_id, "sample": too_small})) == 40007
    assert (await _ok(call, "account.get", {"account_id": account_id}))["stats"]["descriptor_count"] == 3


async def test_face_create_errors(call: Any, code: Any, astronaut: str) -> None:
    from skimage import data

    account_id, stranger = await _account(call), await _account(call)
    mine = {"account_id": account_id, "image": astronaut}
    persons_list = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    theirs = (await _ok(call, "list.create", {"account_id": stranger, "type": "descriptors"}))["list_id"]
    their_person = (await _ok(call, "person.create", {"account_id": stranger}))["person_id"]

    assert code(await call("face.create", {**mine, "image": _b64(data.coffee())})) == 40006
    junk = base64.b64encode(b"certainly not a picture").decode()
    assert code(await call("face.create", {**mine, "image": junk})) == 40007
    assert code(await call("face.create", {**mine, "account_id": str(uuid.uuid4())})) == 11002
    assert code(await call("face.create", {**mine, "person_id": str(uuid.uuid4())})) == 22007
    assert code(await call("face.create", {**mine, "person_id": their_person})) == 40005
    assert code(await call("face.create", {**mine, "list_ids": [str(uuid.uuid4())]})) == 11019
    assert code(await call("face.create", {**mine, "list_ids": [persons_list]})) == 40004
    assert code(await call("face.create", {**mine, "list_ids": [theirs]})) == 40005
    assert code(await call("face.create", {**mine, "sample": astronaut})) == 12022
    taken = (await _ok(call, "face.create", {**mine, "face_id": str(uuid.uuid4())}))["face_id"]
    assert code(await call("face.create", {**mine, "face_id": taken})) == 12022
    assert code(await call("face.create", {"account_id": account_id})) == 12022
    assert code(await call("face.get", {"face_id": str(uuid.uuid4())})) == 40002
    assert code(await call("face.delete", {"face_id": str(uuid.uuid4())})) == 40002
    assert code(await call("face.list", {"page_size": 0})) == 12022
    assert (await _ok(call, "account.get", {"account_id": account_id}))["stats"]["descriptor_count"] == 1


async def test_delete_removes_face_descriptor_and_sample_and_leaves_the_list(
        call: Any, code: Any, client: Any, results: Any, service: Any, astronaut: str) -> None:
    db = service.db
    account_id = await _account(call)
    list_id = (await _ok(call, "list.create", {"account_id": account_id, "type": "descriptors"}))["list_id"]
    face = await _ok(call, "face.create", {"account_id": account_id, "image": astronaut})
    attached = await _ok(call, "list.attach", {"list_id": list_id, "face_ids": [face["face_id"]]})
    assert attached["count_object_in_list"] == 1

    delete = envelope("face.delete", {"face_id": face["face_id"]})
    await client.publish(delete)
    await client.publish(delete)
    both = await results.wait_for(count=2, command_id=delete["command_id"])
    assert [b["value"]["result"] for b in both] == [{}, {}]
    assert code(await call("face.get", {"face_id": face["face_id"]})) == 40002
    assert code(await call("face.delete", {"face_id": face["face_id"]})) == 40002
    assert await db["samples.files"].count_documents({}) == 0
    after = await _ok(call, "list.get", {"list_id": list_id})
    assert after["count_object_in_list"] == 0 and after["last_update_time"] > attached["last_update_time"]
    stats = (await _ok(call, "account.get", {"account_id": account_id}))["stats"]
    assert (stats["descriptor_count"], stats["list_count"]) == (0, 1)


async def test_list_filters_by_account_person_and_freedom(call: Any) -> None:
    account_id, other = await _account(call), await _account(call)
    person = (await _ok(call, "person.create", {"account_id": account_id}))["person_id"]
    crop = base64.b64encode(Sample(np.full((150, 150, 3), 90, np.uint8)).to_png()).decode()
    ids = [(await _ok(call, "face.create", {"account_id": account_id, "sample": crop,
                                            **({"person_id": person} if i == 1 else {})}))["face_id"]
           for i in range(3)]
    await _ok(call, "face.create", {"account_id": other, "sample": crop})

    async def faces(**flt: Any) -> list[str]:
        page = await _ok(call, "face.list", flt)
        return [f["face_id"] for f in page["faces"]]

    assert await faces(account_id=account_id) == ids
    assert await faces(account_id=account_id, page=2, page_size=2) == ids[2:]
    assert await faces(person_id=person) == [ids[1]]
    assert await faces(account_id=account_id, free=True) == [ids[0], ids[2]]
    assert await faces(account_id=account_id, free=False) == [ids[1]]
    assert (await _ok(call, "face.list", {"account_id": account_id}))["face_count"] == 3


async def test_crashes_during_create_end_in_one_face_and_one_sample_file(
        call: Any, client: Any, service: Any, poll: Any, astronaut: str) -> None:
    db = service.db
    account_id = await _account(call)
    create = envelope("face.create", {"account_id": account_id, "image": astronaut})
    face = await call("face.create", create["payload"], command_id=uuid.UUID(create["command_id"]))
    face_id = face["result"]["face_id"]

    async def redeliver() -> None:
        await db.inbox.delete_one({"_id": create["command_id"]})
        await client.publish(create)
        await poll(lambda: db.inbox.find_one({"_id": create["command_id"]}))

    await redeliver()  # crashed after the face was written, before the inbox record
    assert await _ok(call, "face.get", {"face_id": face_id}) == face["result"]
    await db.faces.delete_one({"_id": face_id})
    await redeliver()  # crashed after the sample was stored, before the face was written
    again = await _ok(call, "face.get", {"face_id": face_id})
    assert again["descriptor_versions"] == [CURRENT_VERSION]
    assert await db.faces.count_documents({}) == 1
    assert await db["samples.files"].count_documents({}) == 1


async def test_blocked_account_keeps_faces_readable_but_unchangeable(
        call: Any, code: Any, astronaut: str) -> None:
    account_id = await _account(call)
    face = await _ok(call, "face.create", {"account_id": account_id, "image": astronaut})
    await _ok(call, "account.block", {"account_id": account_id})
    assert code(await call("face.create", {"account_id": account_id, "image": astronaut})) == 11004
    assert code(await call("face.delete", {"face_id": face["face_id"]})) == 11004
    assert await _ok(call, "face.get", {"face_id": face["face_id"]}) == face
    assert (await _ok(call, "face.list", {"account_id": account_id}))["face_count"] == 1
