"""account.* end to end: list, block/unblock, update, delete, and uniqueness under a race."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from argon2 import PasswordHasher

from service.client import envelope


async def _account(call: Any, email: str, org: str = "Org") -> str:
    res = await call("account.create", {"email": email, "password": "pass-word-1", "organization_name": org})
    assert res["status"] == "ok", res
    return str(res["result"]["account_id"])


async def test_list_orders_by_email_filters_and_pages(call: Any, code: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    ids = {e: await _account(call, f"{e}-{tag}@x.io") for e in ("carol", "alice", "bob")}
    await call("account.block", {"account_id": ids["bob"]})

    page1 = (await call("account.list", {"page": 1, "page_size": 2, "email": tag}, version=2))["result"]
    assert page1["account_count"] == 3
    assert [a["email"].split("-")[0] for a in page1["accounts"]] == ["alice", "bob"]
    page2 = (await call("account.list", {"page": 2, "page_size": 2, "email": tag.upper()}, version=2))
    assert [a["email"].split("-")[0] for a in page2["result"]["accounts"]] == ["carol"]

    blocked = (await call("account.list", {"blocked": True, "email": tag}, version=2))["result"]
    assert [a["account_id"] for a in blocked["accounts"]] == [ids["bob"]]
    # Version 1 called the filter `status`; it is upgraded, not rejected.
    v1 = (await call("account.list", {"status": True, "email": tag}, version=1))["result"]
    assert v1 == blocked
    assert code(await call("account.list", {"status": True}, version=2)) == 12022
    assert code(await call("account.list", {"page_size": 101})) == 12022
    assert code(await call("account.list", {"page": 0})) == 12022


async def test_block_keeps_data_refuses_changes_and_unblock_restores(
        call: Any, code: Any, events: Any, service: Any) -> None:
    account_id = await _account(call, f"blk-{uuid.uuid4().hex[:6]}@x.io")
    token = await call("token.create", {"account_id": account_id, "token_data": "before"})
    blocked = await call("account.block", {"account_id": account_id})
    assert blocked["result"]["status"] is True
    await events.wait_for(type="account.blocked", account_id=account_id)

    assert code(await call("token.create", {"account_id": account_id, "token_data": "x"})) == 11004
    assert code(await call("account.update", {"account_id": account_id, "organization_name": "N"})) == 11004
    assert code(await call("token.delete", {"token_id": token["result"]["token_id"]})) == 11004
    assert await service.db.tokens.count_documents({"account_id": account_id}) == 1
    got = await call("account.get", {"account_id": account_id})
    assert got["result"]["info"]["status"] is True and got["result"]["stats"]["token_count"] == 1
    assert (await call("token.list", {"account_id": account_id}))["result"]["token_count"] == 1

    assert (await call("account.unblock", {"account_id": account_id}))["result"]["status"] is False
    assert code(await call("token.create", {"account_id": account_id, "token_data": "after"})) is None
    assert code(await call("account.block", {"account_id": str(uuid.uuid4())})) == 11002


async def test_update_changes_name_and_password_hash(call: Any, code: Any, service: Any) -> None:
    account_id = await _account(call, f"upd-{uuid.uuid4().hex[:6]}@x.io")
    res = await call("account.update", {"account_id": account_id, "organization_name": "New Name",
                                        "password": "another-pass"})
    assert res["result"]["organization_name"] == "New Name"
    doc = await service.db.accounts.find_one({"_id": account_id})
    assert PasswordHasher().verify(doc["password_hash"], "another-pass")
    assert code(await call("account.update", {"account_id": account_id, "password": "short"})) == 11014
    too_long = {"account_id": account_id, "organization_name": "n" * 129}
    assert code(await call("account.update", too_long)) == 11015
    assert code(await call("account.update", {"account_id": str(uuid.uuid4())})) == 11002


async def test_delete_removes_everything_owned_and_reports_counts(
        call: Any, code: Any, client: Any, results: Any, service: Any) -> None:
    from storage.images import GridFsImageStore

    email = f"del-{uuid.uuid4().hex[:6]}@x.io"
    account_id = await _account(call, email)
    other = await _account(call, f"keep-{uuid.uuid4().hex[:6]}@x.io")
    for _ in range(2):
        await call("token.create", {"account_id": account_id, "token_data": "t"})
    await call("token.create", {"account_id": other, "token_data": "t"})
    db = service.db
    images = GridFsImageStore(db)
    await db.persons.insert_one({"_id": str(uuid.uuid4()), "account_id": account_id})
    await db.lists.insert_many([{"_id": str(uuid.uuid4()), "account_id": account_id} for _ in range(3)])
    sample = str(uuid.uuid4())
    await images.put(sample, b"\x89PNG sample bytes")
    await db.faces.insert_one({"_id": str(uuid.uuid4()), "account_id": account_id, "sample_id": sample,
                               "descriptor_versions": ["v1"]})
    await db.tasks.insert_one({"_id": str(uuid.uuid4()), "target_id": account_id, "status": "done"})

    delete = envelope("account.delete", {"account_id": account_id})
    await client.publish(delete)
    await client.publish(delete)  # redelivered: same result, one effect
    both = await results.wait_for(count=2, command_id=delete["command_id"])
    assert both[0]["value"] == both[1]["value"]
    assert both[0]["value"]["result"] == {"deleted": {"persons": 1, "lists": 3, "faces": 1, "tokens": 2}}

    for name in ("persons", "lists", "faces", "tokens"):
        assert await db[name].count_documents({"account_id": account_id}) == 0
    assert await db.tokens.count_documents({"account_id": other}) == 1
    assert await db.tasks.count_documents({"target_id": account_id}) == 1  # history stays
    assert await db["samples.files"].count_documents({"_id": sample}) == 0
    assert code(await call("account.get", {"account_id": account_id})) == 11002
    assert code(await call("account.delete", {"account_id": account_id})) == 11002
    again = await call("account.create", {"email": email, "password": "pass-word-1",
                                          "organization_name": "O"})
    assert again["status"] == "ok"  # the email is free again


async def test_racing_creates_of_one_email_make_one_account(
        call: Any, client: Any, results: Any, settings: Any, service: Any) -> None:
    from service.bootstrap import Service

    async with Service(settings, frozenset({"consume"})):  # a second consumer on the same queues
        emails = [f"race-{i}-{uuid.uuid4().hex[:6]}@x.io" for i in range(8)]
        commands = [envelope("account.create", {"email": e if k == 0 else e.upper(),
                                                "password": "pass-word-1", "organization_name": "R"})
                    for e in emails for k in range(2)]
        await asyncio.gather(*(client.publish(c) for c in commands))
        done = await results.wait_for(count=len(commands), type="account.create.result")
        by_id = {r["value"]["command_id"]: r["value"] for r in done}
        for i, email in enumerate(emails):
            pair = [by_id[commands[2 * i + k]["command_id"]] for k in range(2)]
            assert sorted(r["status"] for r in pair) == ["error", "ok"], pair
            assert [r["error"]["error_code"] for r in pair if r["error"]] == [40001]
            assert await service.db.accounts.count_documents({"email_lower": email}) == 1


async def test_password_parameters_come_from_settings(settings: Any) -> None:
    from service.bootstrap import Service
    from service.client import TopicReader, bus

    owasp = settings.model_copy(update={"passwords": settings.passwords.model_copy(
        update={"time_cost": 2, "memory_kib": 19456, "parallelism": 1})})
    async with Service(owasp) as svc, bus(owasp.amqp.url.get_secret_value(), svc.topology) as client, \
            TopicReader(owasp.kafka.bootstrap, svc.topology.results_topic) as results:
        cmd = envelope("account.create", {"email": f"pw-{uuid.uuid4().hex[:6]}@x.io",
                                          "password": "pass-word-1", "organization_name": "Pw"})
        await client.publish(cmd)
        res = (await results.wait_for(command_id=cmd["command_id"]))[0]["value"]
        assert res["status"] == "ok", res
        doc = await svc.db.accounts.find_one({"_id": res["result"]["account_id"]})
    assert doc["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PasswordHasher().verify(doc["password_hash"], "pass-word-1")  # the default hasher reads them
