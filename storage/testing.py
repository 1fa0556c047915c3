"""Image stores for tests: an in-memory one, and a wrapper that fails on purpose and counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection

from contracts.errors import TransientError
from storage.images import ImageStore, SampleNotFound

METHODS = ("put", "get", "delete")


class MemoryImageStore:
    """An `ImageStore` in a dict, for unit tests of handlers."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def put(self, sample_id: str, data: bytes) -> None:
        self.data.setdefault(sample_id, data)

    async def get(self, sample_id: str) -> bytes:
        try:
            return self.data[sample_id]
        except KeyError:
            raise SampleNotFound(sample_id) from None

    async def delete(self, sample_id: str) -> bool:
        return self.data.pop(sample_id, None) is not None


def _outage(sample_id: str) -> Exception:
    return TransientError(f"image store failure injected for sample {sample_id}")


class FailingImageStore:
    """Wraps an `ImageStore` and fails some calls, so tests can count how callers (the GC task,
    re-extraction) cope with image-store failures.

    A call of one of `methods` fails when its sample id is in `fail_ids`, or when it is the
    `every`-th, 2·`every`-th, … such call (0 turns that off). A failing call raises `error(sample_id)`
    (a `TransientError` by default) without reaching the inner store. `calls` and `failures` count
    per method; `failed_ids` lists the ids of failed calls in order.
    """

    def __init__(self, inner: ImageStore, *, fail_ids: Collection[str] = (), every: int = 0,
                 methods: Collection[str] = METHODS,
                 error: Callable[[str], Exception] = _outage) -> None:
        unknown = set(methods) - set(METHODS)
        if unknown or every < 0:
            raise ValueError(f"bad FailingImageStore setup: methods {unknown or ''} every={every}")
        self.inner = inner
        self.fail_ids = set(fail_ids)
        self.every = every
        self.methods = frozenset(methods)
        self.error = error
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.failed_ids: list[str] = []
        self._eligible = 0

    async def put(self, sample_id: str, data: bytes) -> None:
        self._maybe_fail("put", sample_id)
        await self.inner.put(sample_id, data)

    async def get(self, sample_id: str) -> bytes:
        self._maybe_fail("get", sample_id)
        return await self.inner.get(sample_id)

    async def delete(self, sample_id: str) -> bool:
        self._maybe_fail("delete", sample_id)
        return await self.inner.delete(sample_id)

    def _maybe_fail(self, method: str, sample_id: str) -> None:
        self.calls[method] += 1
        if method not in self.methods:
            return
        self._eligible += 1
        nth = self.every > 0 and self._eligible % self.every == 0
        if sample_id in self.fail_ids or nth:
            self.failures[method] += 1
            self.failed_ids.append(sample_id)
            raise self.error(sample_id)
