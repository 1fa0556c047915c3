"""The GridFS image store against the real MongoDB-protocol server (FerretDB locally)."""

from __future__ import annotations

import uuid

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.errors import ErrorCode, TransientError
from storage.images import GridFsImageStore, ImageStore, SampleNotFound
from storage.mongo import Doc, connect
from storage.testing import FailingImageStore, MemoryImageStore

BIG = bytes(range(256)) * 4000  # 1 MB: several GridFS chunks


@pytest.fixture(params=["gridfs", "memory"])
def store(request: pytest.FixtureRequest, db: AsyncDatabase[Doc]) -> ImageStore:
    return GridFsImageStore(db) if request.param == "gridfs" else MemoryImageStore()


def sid() -> str:
    return str(uuid.uuid4())


async def test_put_get_delete(store: ImageStore) -> None:
    a, b = sid(), sid()
    await store.put(a, b"\x89PNG small")
    await store.put(b, BIG)
    assert await store.get(a) == b"\x89PNG small"
    assert await store.get(b) == BIG
    assert await store.delete(a) is True
    assert await store.delete(a) is False
    with pytest.raises(SampleNotFound):
        await store.get(a)
    assert await store.get(b) == BIG


async def test_missing_sample_is_sample_not_found(store: ImageStore) -> None:
    missing = sid()
    with pytest.raises(SampleNotFound) as info:
        await store.get(missing)
    assert info.value.code is ErrorCode.SAMPLE_NOT_FOUND and int(info.value.code) == 13003
    assert missing in info.value.detail
    assert await store.delete(missing) is False


async def test_put_twice_keeps_one_file(db: AsyncDatabase[Doc]) -> None:
    store, a = GridFsImageStore(db), sid()
    await store.put(a, BIG)
    await store.put(a, BIG)
    assert await db["samples.files"].count_documents({"_id": a}) == 1
    chunks = await db["samples.chunks"].count_documents({"files_id": a})
    assert chunks == -(-len(BIG) // (255 * 1024))
    assert await store.get(a) == BIG


async def test_put_after_a_put_that_died_halfway(db: AsyncDatabase[Doc]) -> None:
    """Chunks without a file document (the writer died before its last step) are replaced."""
    store, a = GridFsImageStore(db), sid()
    await store.put(sid(), b"warm up: creates the bucket's indexes")
    await db["samples.chunks"].insert_one({"files_id": a, "n": 0, "data": b"stale half"})
    await store.put(a, b"the sample")
    assert await store.get(a) == b"the sample"
    assert await db["samples.chunks"].count_documents({"files_id": a}) == 1


async def test_unreachable_server_is_transient() -> None:
    client = connect("mongodb://127.0.0.1:9/", timeout_ms=300)  # nothing listens on the discard port
    try:
        store = GridFsImageStore(client["nowhere"])
        for call in (store.put(sid(), b"x"), store.get(sid()), store.delete(sid())):
            with pytest.raises(TransientError):
                await call
    finally:
        await client.close()


async def test_failing_store_fails_chosen_ids_and_every_nth_call() -> None:
    inner = MemoryImageStore()
    bad = sid()
    store = FailingImageStore(inner, fail_ids={bad}, every=3, methods=("get", "delete"))
    ids = [sid() for _ in range(6)]
    for i in ids:
        await store.put(i, i.encode())  # put is not among the failing methods
    outcomes = []
    for i in [*ids, bad]:
        try:
            outcomes.append(await store.get(i) == i.encode())
        except TransientError:
            outcomes.append(False)
    assert outcomes == [True, True, False, True, True, False, False]
    assert store.failures == {"get": 3} and store.calls == {"put": 6, "get": 7}
    assert store.failed_ids == [ids[2], ids[5], bad]
    assert bad not in inner.data
