"""consumers.lanes: one account's work in arrival order, different accounts at once, a bound."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from consumers.lanes import Lanes, lane_key


def _msg(body: Any, headers: dict[str, Any] | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return SimpleNamespace(body=raw, headers=headers, type=None, routing_key="x", message_id="m")


def test_the_key_is_the_header_then_the_payloads_account() -> None:
    assert lane_key(_msg({"payload": {"account_id": "a"}}, {"account_id": "h"})) == "h"
    assert lane_key(_msg({"payload": {"account_id": "a"}})) == "a"
    assert lane_key(_msg({"payload": {"list_id": "l"}})) is None
    assert lane_key(_msg(b"{not json")) is None
    assert lane_key(_msg([1, 2])) is None
    # a new account: nobody else can name it yet, so it overlaps with everything
    assert lane_key(_msg({"type": "account.create", "command_id": "c", "payload": {}})) == "new-account:c"
    # two creates of one email (any case) share a lane, so the first published wins the email
    assert lane_key(_msg({"type": "account.create", "command_id": "c", "payload": {"email": "A@x.io"}})) \
        == lane_key(_msg({"type": "account.create", "command_id": "d", "payload": {"email": "a@X.io "}}))


class Works:
    """Named works that record their start and end and wait for their own gate, with an event
    per start and per end to wait on (no time passes in these tests)."""

    def __init__(self, *names: str) -> None:
        self.gates = {n: asyncio.Event() for n in names}
        self.began = {n: asyncio.Event() for n in names}
        self.ended = {n: asyncio.Event() for n in names}
        self.started: list[str] = []
        self.finished: list[str] = []

    def __call__(self, name: str) -> Any:
        async def run() -> None:
            self.started.append(name)
            self.began[name].set()
            await self.gates[name].wait()
            self.finished.append(name)
            self.ended[name].set()
        return run


async def test_one_keys_work_runs_in_order_while_other_keys_overlap() -> None:
    lanes = Lanes(limit=8)
    w = Works("a1", "a2", "b1")
    await lanes.submit("a", w("a1"))
    await lanes.submit("a", w("a2"))
    await lanes.submit("b", w("b1"))
    await w.began["a1"].wait()
    await w.began["b1"].wait()  # b1 does not wait for anyone
    assert w.started == ["a1", "b1"]  # a2 waits for a1, which is held at its gate
    w.gates["a2"].set()  # a2 may finish, but not before it starts, after a1
    w.gates["b1"].set()
    await w.ended["b1"].wait()
    assert w.started == ["a1", "b1"] and w.finished == ["b1"]
    w.gates["a1"].set()
    await lanes.join()
    assert w.started == ["a1", "b1", "a2"] and w.finished == ["b1", "a1", "a2"]


async def test_keyless_work_shares_one_lane() -> None:
    lanes = Lanes(limit=16)
    names = [f"k{i}" for i in range(10)]
    w = Works(*names)
    for name in names:
        await lanes.submit(None, w(name))
    await w.began["k0"].wait()
    assert w.started == ["k0"]  # the other nine wait behind it, though k0 is held at its gate
    for name in names:
        w.gates[name].set()
    await lanes.join()
    assert w.started == w.finished == names  # one after the other, in order


async def test_the_limit_holds_back_the_submitter() -> None:
    lanes = Lanes(limit=2)
    w = Works("a", "b", "c")
    await lanes.submit("a", w("a"))
    await lanes.submit("b", w("b"))
    third = asyncio.create_task(lanes.submit("c", w("c")))
    await w.began["a"].wait()
    await w.began["b"].wait()
    assert not third.done()  # two running (held at their gates): the consumer loop waits
    w.gates["a"].set()
    await third  # a slot came free
    w.gates["b"].set()
    w.gates["c"].set()
    await lanes.join()


async def test_keyless_work_waits_for_what_came_before_and_holds_back_what_follows() -> None:
    lanes = Lanes(limit=8)
    w = Works("create", "update", "other")
    await lanes.submit("a", w("create"))  # person.create names its account
    await lanes.submit(None, w("update"))  # person.update names only the person
    await lanes.submit("b", w("other"))  # another account, submitted after the update
    await w.began["create"].wait()
    assert w.started == ["create"]  # the update does not overtake the create; b waits for the update
    w.gates["create"].set()
    await w.began["update"].wait()
    assert w.started == ["create", "update"]
    w.gates["update"].set()
    w.gates["other"].set()
    await lanes.join()
    assert w.started == ["create", "update", "other"]


async def test_cancel_waits_for_the_cancelled_work() -> None:
    lanes = Lanes(limit=2)
    w = Works("a")
    ended = asyncio.Event()

    async def run() -> None:
        try:
            await w("a")()
        finally:
            ended.set()

    await lanes.submit("a", run)
    await w.began["a"].wait()
    await lanes.cancel()
    assert ended.is_set()
