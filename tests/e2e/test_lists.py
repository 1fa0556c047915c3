"""list.* end to end: lifecycle, exact counts and last_update_time under repeats, redelivery, a crash
between the membership write and the list's time, two racing consumers, deletion, blocked accounts."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from service.client import envelope
from tests.e2e.support import new_account, ok


async def _account(call: Any) -> str:
    return await new_account(call, "lists")


_ok = ok


async def _persons(call: Any, account_id: str, n: int) -> list[str]:
    return [(await _ok(call, "person.create", {"account_id": account_id}))["person_id"] for _ in range(n)]


async def test_list_lifecycle_and_errors(call: Any, code: Any, client: Any, results: Any,
                                         events: Any, service: Any) -> None:
    account_id = await _account(call)
    create = envelope("list.create", {"account_id": account_id, "user_data": "staff"})
    await client.publish(create)
    await client.publish(create)  # redelivered: one list, the same result
    both = await results.wait_for(count=2, command_id=create["command_id"])
    assert both[0]["value"] == both[1]["value"]
    luna = both[0]["value"]["result"]
    assert luna["type"] == "persons" and luna["count_object_in_list"] == 0 and luna["user_data"] == "staff"
    assert await service.db.lists.count_documents({"account_id": account_id}) == 1
    await events.wait_for(type="list.created", account_id=account_id)
    other = await _ok(call, "list.create", {"account_id": account_id, "type": "descriptors"})

    assert await _ok(call, "list.get", {"list_id": luna["list_id"]}) == luna
    updated = await _ok(call, "list.update", {"list_id": luna["list_id"], "user_data": "all staff"})
    assert updated == {**luna, "user_data": "all staff"}  # last_update_time moves with membership only
    page = await _ok(call, "list.list", {"account_id": account_id, "page": 2, "page_size": 1})
    assert page["list_count"] == 2 and [x["list_id"] for x in page["lists"]] == [other["list_id"]]
    only = await _ok(call, "list.list", {"account_id": account_id, "type": "descriptors"})
    assert [x["list_id"] for x in only["lists"]] == [other["list_id"]]

    unknown = str(uuid.uuid4())
    assert code(await call("list.create", {"account_id": unknown})) == 11002
    assert code(await call("list.create", {"account_id": account_id, "user_data": "u" * 129})) == 11015
    assert code(await call("list.create", {"account_id": account_id, "type": "faces"})) == 12022
    assert code(await call("list.get", {"list_id": unknown})) == 11019
    assert code(await call("list.update", {"list_id": unknown, "user_data": ""})) == 11019
    assert code(await call("list.update", {"list_id": luna["list_id"], "user_data": "u" * 129})) == 11015
    assert code(await call("list.delete", {"list_id": unknown})) == 11019
    assert code(await call("list.list", {"page_size": 101})) == 12022
    assert code(await call("list.attach", {"list_id": unknown, "person_ids": []})) == 11019
    assert code(await call("list.detach", {"list_id": unknown, "person_ids": []})) == 11019
    both_kinds = {"list_id": luna["list_id"], "person_ids": [], "face_ids": []}
    assert code(await call("list.attach", both_kinds)) == 12022


async def test_attach_and_detach_count_once_and_move_time_only_on_change(
        call: Any, code: Any, events: Any) -> None:
    account_id = await _account(call)
    p1, p2, p3 = await _persons(call, account_id, 3)
    created = await _ok(call, "list.create", {"account_id": account_id})
    list_id = created["list_id"]

    first = await _ok(call, "list.attach", {"list_id": list_id, "person_ids": [p1, p2, p1]})
    assert first["count_object_in_list"] == 2 and first["last_update_time"] > created["last_update_time"]
    again = await _ok(call, "list.attach", {"list_id": list_id, "person_ids": [p2, p1]})
    assert again == first  # members already in it: counted once, time unchanged
    more = await _ok(call, "list.attach", {"list_id": list_id, "person_ids": [p2, p3]})
    assert more["count_object_in_list"] == 3 and more["last_update_time"] > first["last_update_time"]
    fewer = await _ok(call, "list.detach", {"list_id": list_id, "person_ids": [p3, p1]})
    assert fewer["count_object_in_list"] == 1 and fewer["last_update_time"] > more["last_update_time"]
    assert await _ok(call, "list.detach", {"list_id": list_id, "person_ids": [p3]}) == fewer
    assert (await _ok(call, "person.get", {"person_id": p2}))["lists"] == [list_id]
    assert (await _ok(call, "person.get", {"person_id": p1}))["lists"] == []
    attached = await events.wait_for(type="list.attached", account_id=account_id, count=3)
    assert [e["value"]["data"]["person_ids"] for e in attached] == [sorted([p1, p2]), [], [p3]]


async def test_member_kind_account_and_existence_are_checked(call: Any, code: Any) -> None:
    account_id, stranger = await _account(call), await _account(call)
    [mine] = await _persons(call, account_id, 1)
    [theirs] = await _persons(call, stranger, 1)
    persons = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    faces = (await _ok(call, "list.create", {"account_id": account_id, "type": "descriptors"}))["list_id"]
    for verb in ("list.attach", "list.detach"):
        assert code(await call(verb, {"list_id": persons, "face_ids": [str(uuid.uuid4())]})) == 40004
        assert code(await call(verb, {"list_id": faces, "person_ids": [mine]})) == 40004
        assert code(await call(verb, {"list_id": persons, "person_ids": [mine, theirs]})) == 40005
        assert code(await call(verb, {"list_id": persons, "person_ids": [str(uuid.uuid4())]})) == 22007
        assert code(await call(verb, {"list_id": faces, "face_ids": [str(uuid.uuid4())]})) == 40002
    res = await _ok(call, "list.get", {"list_id": persons})
    assert res["count_object_in_list"] == 0  # a refused command changes nothing, not even partly


async def test_redelivered_attach_has_one_effect_and_the_same_result(
        call: Any, client: Any, results: Any, service: Any) -> None:
    account_id = await _account(call)
    members = await _persons(call, account_id, 3)
    list_id = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    attach = envelope("list.attach", {"list_id": list_id, "person_ids": members})
    for _ in range(3):
        await client.publish(attach)
    seen = await results.wait_for(count=3, command_id=attach["command_id"])
    assert len({r["value"]["event_id"] for r in seen}) == 1
    assert all(r["value"] == seen[0]["value"] for r in seen)
    assert seen[0]["value"]["result"]["count_object_in_list"] == 3
    for person_id in members:
        doc = await service.db.persons.find_one({"_id": person_id})
        assert doc["lists"] == [list_id]


async def test_crash_between_member_writes_and_list_time_ends_as_without_crash(
        call: Any, client: Any, results: Any, service: Any, poll: Any) -> None:
    """The members are written, then the process dies before the list's time and the inbox record:
    the redelivery must still move the time, to the first attempt's time, and count once."""
    db = service.db
    account_id = await _account(call)
    members = await _persons(call, account_id, 2)
    created = await _ok(call, "list.create", {"account_id": account_id})
    attach = envelope("list.attach", {"list_id": created["list_id"], "person_ids": members})
    await client.publish(attach)
    [first] = await results.wait_for(command_id=attach["command_id"])
    # Undo what happened after the member writes: the list's time and the inbox record.
    await db.lists.update_one({"_id": created["list_id"]},
                              {"$set": {"last_update_time": created["last_update_time"]}})
    await db.inbox.delete_one({"_id": attach["command_id"]})

    await client.publish(attach)
    await poll(lambda: db.inbox.find_one({"_id": attach["command_id"]}))
    after = await _ok(call, "list.get", {"list_id": created["list_id"]})
    assert after == first["value"]["result"]
    assert after["last_update_time"] > created["last_update_time"]


async def test_racing_consumers_keep_counts_and_time_exact(
        call: Any, client: Any, results: Any, settings: Any, service: Any) -> None:
    from service.bootstrap import Service

    db = service.db
    account_id = await _account(call)
    people = await _persons(call, account_id, 12)
    main = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    side = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    async with Service(settings, frozenset({"consume"})):  # a second consumer on the same queues
        async def run(commands: list[dict[str, Any]]) -> None:
            # every command published twice, all at once: overlapping, duplicated, racing
            await asyncio.gather(*(client.publish(c) for c in commands + commands))
            for c in commands:
                done = await results.wait_for(count=2, command_id=c["command_id"])
                assert all(d["value"]["status"] == "ok" for d in done), done

        await run([envelope("list.attach", {"list_id": main, "person_ids": people[i:i + 5]})
                   for i in range(0, 12, 2)])
        assert (await _ok(call, "list.get", {"list_id": main}))["count_object_in_list"] == 12
        # detaches from one list race with attaches to another on the same member documents
        await run([envelope("list.detach", {"list_id": main, "person_ids": people[i:i + 3]})
                   for i in (0, 2, 3)]  # people 0-5, overlapping
                  + [envelope("list.attach", {"list_id": side, "person_ids": people[i:i + 4]})
                     for i in range(0, 12, 3)])
    got = await _ok(call, "list.get", {"list_id": main})
    assert got["count_object_in_list"] == 6
    assert (await _ok(call, "list.get", {"list_id": side}))["count_object_in_list"] == 12
    docs = await db.persons.find({"account_id": account_id}).to_list()
    assert all(len(d["lists"]) == len(set(d["lists"])) for d in docs)
    latest = max(d["list_marks"][main]["at"] for d in docs)
    assert (await db.lists.find_one({"_id": main}))["last_update_time"] == latest
    stats = await _ok(call, "account.get", {"account_id": account_id})
    assert stats["stats"] | {"token_count": 0} == {"person_count": 12, "list_count": 2,
                                                   "descriptor_count": 0, "token_count": 0}


async def test_delete_detaches_members_and_deletes_nothing_else(
        call: Any, code: Any, client: Any, results: Any, service: Any) -> None:
    account_id = await _account(call)
    members = await _persons(call, account_id, 2)
    list_id = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    kept = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    await _ok(call, "list.attach", {"list_id": list_id, "person_ids": members})
    await _ok(call, "list.attach", {"list_id": kept, "person_ids": members})
    await _ok(call, "list.attach", {"list_id": kept, "person_ids": members[:1]})  # already in: no change
    listed = (await _ok(call, "list.list", {"account_id": account_id}))["lists"]
    assert {x["list_id"]: x["count_object_in_list"] for x in listed} == {list_id: 2, kept: 2}

    delete = envelope("list.delete", {"list_id": list_id})
    await client.publish(delete)
    await client.publish(delete)
    both = await results.wait_for(count=2, command_id=delete["command_id"])
    assert [b["value"]["result"] for b in both] == [{}, {}]
    assert both[0]["value"]["event_id"] == both[1]["value"]["event_id"]
    for person_id in members:
        assert (await _ok(call, "person.get", {"person_id": person_id}))["lists"] == [kept]
    assert code(await call("list.get", {"list_id": list_id})) == 11019
    assert code(await call("list.delete", {"list_id": list_id})) == 11019
    assert code(await call("list.attach", {"list_id": list_id, "person_ids": members})) == 11019
    stats = (await _ok(call, "account.get", {"account_id": account_id}))["stats"]
    assert (stats["list_count"], stats["person_count"]) == (1, 2)
    page = await _ok(call, "list.list", {"account_id": account_id})
    assert [(x["list_id"], x["count_object_in_list"]) for x in page["lists"]] == [(kept, 2)]


async def test_blocked_account_keeps_lists_readable_but_unchangeable(call: Any, code: Any) -> None:
    account_id = await _account(call)
    [person] = await _persons(call, account_id, 1)
    list_id = (await _ok(call, "list.create", {"account_id": account_id}))["list_id"]
    await _ok(call, "list.attach", {"list_id": list_id, "person_ids": [person]})
    await _ok(call, "account.block", {"account_id": account_id})

    assert code(await call("list.create", {"account_id": account_id})) == 11004
    assert code(await call("list.update", {"list_id": list_id, "user_data": "x"})) == 11004
    assert code(await call("list.attach", {"list_id": list_id, "person_ids": [person]})) == 11004
    assert code(await call("list.detach", {"list_id": list_id, "person_ids": [person]})) == 11004
    assert code(await call("list.delete", {"list_id": list_id})) == 11004
    assert (await _ok(call, "list.get", {"list_id": list_id}))["count_object_in_list"] == 1
    assert (await _ok(call, "list.list", {"account_id": account_id}))["list_count"] == 1
    await _ok(call, "account.unblock", {"account_id": account_id})
    assert (await _ok(call, "list.detach", {"list_id": list_id, "person_ids": [person]}))[
        "count_object_in_list"] == 0
