"""Concurrency that keeps each account's order.

Messages of one queue run at the same time up to a limit, but two messages with the same key (the
account) run one after the other, in the order they arrived. Messages that name no account (by
header or payload) share one lane: they run one at a time, in order, as every message did before.
This lets one consumer use both cores (argon2id in threads, MongoDB round trips overlapping) while
an account's commands are still applied in publish order.

Why keyless commands are not concurrent: a `list.attach` names a list, not its account, and two of
them on different lists can update the same person documents. FerretDB v1 does not apply
concurrent updates of one document atomically (measured here: two racing `update_many` on one
document lost one of the two changes 49 times in 50), so such commands must not overlap. One
account's commands never touch another account's documents, so different accounts may.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aio_pika.abc import AbstractIncomingMessage


def lane_key(message: AbstractIncomingMessage) -> str | None:
    """The account a command is about: the `account_id` header publishers set for the
    consistent-hash shards, else the payload's `account_id`. An `account.create` without one makes
    a new account that no other command can name yet: a lane of its own. Otherwise None."""
    header = (message.headers or {}).get("account_id")
    if header:
        return str(header)
    try:
        raw = json.loads(message.body)
        payload = raw.get("payload")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None  # not a command at all: it is parked, in no particular order
    account = payload.get("account_id") if isinstance(payload, dict) else None
    if account:
        return str(account)
    if (raw.get("type") or message.type or message.routing_key) == "account.create":
        return f"new-account:{raw.get('command_id') or message.message_id}"
    return None


KEYLESS = ""  # the lane of the messages that name no account


class Lanes:
    """`await lanes.submit(key, work)` starts `work()` after the earlier work of the same key;
    it waits (back-pressure on the consumer loop) while `limit` works are running."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, key: str | None, work: Callable[[], Awaitable[None]]) -> None:
        await self._slots.acquire()
        lane = KEYLESS if key is None else key
        task = asyncio.create_task(self._run(self._tails.get(lane), work))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        self._tails[lane] = task
        task.add_done_callback(lambda t: self._forget(lane, t))

    async def _run(self, before: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]) -> None:
        try:
            if before is not None:
                await asyncio.wait([before])  # its outcome is its own; only the order matters here
            await work()
        finally:
            self._slots.release()

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    def cancel(self) -> None:
        """Stop every running work (the grace period is over)."""
        for task in self._running:
            task.cancel()

    async def join(self) -> None:
        """Wait for every submitted work (a graceful stop lets them finish)."""
        while self._running:
            await asyncio.wait(list(self._running))
