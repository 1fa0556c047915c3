"""Driver errors translated at the storage boundary into our own exceptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from contracts.errors import TransientError


class Duplicate(Exception):
    """An insert hit a unique index: the object (or one with the same unique key) exists."""


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Turn PyMongo's errors into `Duplicate` or `TransientError` so handlers never see PyMongo."""
    try:
        yield
    except DuplicateKeyError as exc:
        raise Duplicate(str(exc)) from exc
    except ConnectionFailure as exc:
        raise TransientError(f"MongoDB unreachable: {exc}") from exc
    except PyMongoError as exc:
        if exc.has_error_label("RetryableWriteError") or exc.timeout:
            raise TransientError(f"MongoDB: {exc}") from exc
        raise
