"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from service.settings import Settings
from storage.mongo import Doc, connect


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncDatabase[Doc]]:
    """The test's own database on the real MongoDB-protocol server, dropped afterwards."""
    client = connect(settings.mongo.url.get_secret_value())
    try:
        yield client[settings.mongo.database]
    finally:
        await client.drop_database(settings.mongo.database)
        await client.close()
