"""Pins what we rely on from the MongoDB-protocol server (FerretDB here) with PyMongo's async API."""

from __future__ import annotations

import pytest
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from service.settings import Settings
from storage.mongo import connect


async def test_crud_unique_upsert_find_and_modify_count(settings: Settings) -> None:
    client = connect(settings.mongo.url.get_secret_value())
    db = client[settings.mongo.database]
    try:
        col = db.smoke
        await col.create_index("email", unique=True)
        await col.insert_one({"_id": "a", "email": "a@x", "n": 1})
        with pytest.raises(DuplicateKeyError):
            await col.insert_one({"_id": "b", "email": "a@x"})

        await col.update_one({"_id": "c"}, {"$setOnInsert": {"email": "c@x", "n": 5}}, upsert=True)
        await col.update_one({"_id": "c"}, {"$setOnInsert": {"email": "other", "n": 9}}, upsert=True)
        assert await col.find_one({"_id": "c"}) == {"_id": "c", "email": "c@x", "n": 5}

        doc = await col.find_one_and_update({"_id": "a"}, {"$inc": {"n": 1}},
                                            return_document=ReturnDocument.AFTER)
        assert doc is not None and doc["n"] == 2
        assert await col.count_documents({}) == 2
        assert await col.count_documents({"n": {"$gte": 2}}) == 2
    finally:
        await client.drop_database(settings.mongo.database)
        await client.close()
