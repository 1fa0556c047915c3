"""Concurrency that keeps each account's order.

Messages of one queue run at the same time up to a limit, but two messages with the same key (the
account) run one after the other, in the order they arrived. A message that names no account (by
header or payload) runs alone: after everything before it, before everything after it, as every
message did before.
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
    a new account that no other command can name yet: a lane of its own, shared only with the
    creates of the same email, so in one consumer the first published of those is applied first
    (and wins the email, unless it fails transiently and is retried later). Otherwise None."""
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
        email = payload.get("email") if isinstance(payload, dict) else None
        if isinstance(email, str) and email:
            return f"new-account:{email.strip().lower()}"  # creates of one email: in publish order
        return f"new-account:{raw.get('command_id') or message.message_id}"
    return None


class Lanes:
    """`await lanes.submit(key, work)` starts `work()` after the earlier work of the same key;
    it waits (back-pressure on the consumer loop) while `limit` works are running.

    Work without a key is a barrier: it starts once everything submitted before it has finished,
    and everything submitted after it waits for it. So a keyless `person.update` never overtakes
    the keyed `person.create` before it, as in a queue handled one message at a time."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._barrier: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, key: str | None, work: Callable[[], Awaitable[None]]) -> None:
        await self._slots.acquire()
        if key is None:
            before = list(self._running)
        else:
            tail = self._tails.get(key) or self._barrier
            before = [tail] if tail is not None and not tail.done() else []
        task = asyncio.create_task(self._run(before, work))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        if key is None:
            self._barrier = task
            self._tails.clear()  # every later key waits for the barrier first
        else:
            self._tails[key] = task
            task.add_done_callback(lambda t: self._forget(key, t))

    async def _run(self, before: list[asyncio.Task[None]], work: Callable[[], Awaitable[None]]) -> None:
        try:
            if before:
                await asyncio.wait(before)  # their outcomes are their own; only the order matters here
            await work()
        finally:
            self._slots.release()

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    async def cancel(self) -> None:
        """Stop every running work (the grace period is over) and wait until they have ended."""
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def join(self) -> None:
        """Wait for every submitted work (a graceful stop lets them finish)."""
        while self._running:
            await asyncio.wait(list(self._running))
