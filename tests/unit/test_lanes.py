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


async def test_one_keys_work_runs_in_order_while_other_keys_overlap() -> None:
    lanes = Lanes(limit=8)
    gates = {name: asyncio.Event() for name in ("a1", "a2", "b1")}
    started: list[str] = []
    finished: list[str] = []

    def work(name: str) -> Any:
        async def run() -> None:
            started.append(name)
            await gates[name].wait()
            finished.append(name)
        return run

    await lanes.submit("a", work("a1"))
    await lanes.submit("a", work("a2"))
    await lanes.submit("b", work("b1"))
    for _ in range(5):
        await asyncio.sleep(0)  # let the tasks start (no time passes)
    assert started == ["a1", "b1"]  # a2 waits for a1; b1 does not wait for anyone
    gates["a2"].set()  # a2 may finish, but not before it starts, after a1
    gates["b1"].set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == ["a1", "b1"] and finished == ["b1"]
    gates["a1"].set()
    await lanes.join()
    assert started == ["a1", "b1", "a2"] and finished == ["b1", "a1", "a2"]


async def test_keyless_work_shares_one_lane() -> None:
    lanes = Lanes(limit=8)
    active = 0
    most = 0

    async def run() -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0)
        active -= 1

    for _ in range(10):
        await lanes.submit(None, run)
    await lanes.join()
    assert most == 1


async def test_the_limit_holds_back_the_submitter() -> None:
    lanes = Lanes(limit=2)
    gate = asyncio.Event()

    async def run() -> None:
        await gate.wait()

    await lanes.submit("a", run)
    await lanes.submit("b", run)
    third = asyncio.create_task(lanes.submit("c", run))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not third.done()  # two running: the consumer loop waits
    gate.set()
    await third
    await lanes.join()


async def test_keyless_work_waits_for_what_came_before_and_holds_back_what_follows() -> None:
    lanes = Lanes(limit=8)
    gates = {name: asyncio.Event() for name in ("create", "update", "other")}
    started: list[str] = []

    def work(name: str) -> Any:
        async def run() -> None:
            started.append(name)
            await gates[name].wait()
        return run

    await lanes.submit("a", work("create"))  # person.create names its account
    await lanes.submit(None, work("update"))  # person.update names only the person
    await lanes.submit("b", work("other"))  # another account, submitted after the update
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == ["create"]  # the update does not overtake the create; b waits for the update
    gates["create"].set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == ["create", "update"]
    gates["update"].set()
    gates["other"].set()
    await lanes.join()
    assert started == ["create", "update", "other"]


async def test_cancel_waits_for_the_cancelled_work() -> None:
    lanes = Lanes(limit=2)
    ended = asyncio.Event()

    async def run() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.set()

    await lanes.submit("a", run)
    await asyncio.sleep(0)
    await lanes.cancel()
    assert ended.is_set()
