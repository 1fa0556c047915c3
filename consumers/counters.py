"""Per-process counters of handled commands, flushed to `storage.series` about once a second.

Counting in memory keeps a write off every command's path; a crash loses at most the last second
of counts, which is acceptable for statistics (results and state are never at stake here).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime

import structlog

from storage.series import Key, SeriesStore, keys_for

log = structlog.get_logger("luna.counters")


class CommandCounters:
    """Counts (type, outcome) per time bucket; `run` flushes them until stopped."""

    def __init__(self, store: SeriesStore, interval_s: float = 1.0) -> None:
        self._store = store
        self._interval_s = interval_s
        self._pending: Counter[Key] = Counter()

    def record(self, type_: str, outcome: str, at: datetime | None = None) -> None:
        for key in keys_for(at or datetime.now(UTC), type_, outcome):
            self._pending[key] += 1

    async def flush(self) -> None:
        batch, self._pending = self._pending, Counter()
        if not batch:
            return
        try:
            await self._store.add(batch)
        except Exception:
            self._pending.update(batch)  # keep them for the next flush
            raise

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval_s)
            try:
                await self.flush()
            except Exception as exc:
                log.warning("counters_flush_failed", error=str(exc)[:300])
