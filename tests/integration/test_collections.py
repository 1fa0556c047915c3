"""Several processes starting at once against one database each create its collections."""

from __future__ import annotations

import asyncio
import uuid

from service.settings import Settings
from storage.mongo import COLLECTIONS, connect, ensure_indexes


async def test_concurrent_starts_create_the_collections_once(base_settings: Settings) -> None:
    client = connect(base_settings.mongo.url.get_secret_value())
    db = client[f"t_{uuid.uuid4().hex[:10]}"]
    try:
        await asyncio.gather(*(ensure_indexes(db) for _ in range(4)))
        assert set(COLLECTIONS) <= set(await db.list_collection_names())
    finally:
        await client.drop_database(db.name)
        await client.close()
