"""token.* end to end: the secret once, only its hash stored, redelivery gives the same token."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from service.client import envelope


async def test_token_lifecycle(call: Any, code: Any, client: Any, results: Any, events: Any,
                               service: Any) -> None:
    acc = await call("account.create", {"email": f"tok-{uuid.uuid4().hex[:6]}@x.io",
                                        "password": "pass-word-1", "organization_name": "T"})
    account_id = acc["result"]["account_id"]

    create = envelope("token.create", {"account_id": account_id, "token_data": "ci robot"})
    await client.publish(create)
    await client.publish(create)
    both = await results.wait_for(count=2, command_id=create["command_id"])
    assert both[0]["value"] == both[1]["value"]
    created = both[0]["value"]["result"]
    token_id, secret = created["token_id"], created["token"]
    assert created["token_data"] == "ci robot" and len(secret) >= 40

    doc = await service.db.tokens.find_one({"_id": token_id})
    assert doc["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(doc, default=str)
    assert await service.db.tokens.count_documents({"account_id": account_id}) == 1
    event = (await events.wait_for(type="token.created"))[0]["value"]
    assert secret not in json.dumps(event)

    got = await call("token.get", {"token_id": token_id})
    assert got["result"] == {"token_id": token_id, "token_data": "ci robot"}
    for i in range(3):
        await call("token.create", {"account_id": account_id, "token_data": f"t{i}"})
    page = (await call("token.list", {"account_id": account_id, "page": 2, "page_size": 3}))["result"]
    assert page["token_count"] == 4 and [t["token_data"] for t in page["tokens"]] == ["t2"]

    delete = envelope("token.delete", {"token_id": token_id})
    await client.publish(delete)
    await client.publish(delete)
    deleted = await results.wait_for(count=2, command_id=delete["command_id"])
    assert [d["value"]["status"] for d in deleted] == ["ok", "ok"]
    assert code(await call("token.get", {"token_id": token_id})) == 11022
    assert code(await call("token.delete", {"token_id": token_id})) == 11022
    assert (await call("token.list", {"account_id": account_id}))["result"]["token_count"] == 3


async def test_token_errors(call: Any, code: Any) -> None:
    acc = await call("account.create", {"email": f"tkerr-{uuid.uuid4().hex[:6]}@x.io",
                                        "password": "pass-word-1", "organization_name": "T"})
    account_id = acc["result"]["account_id"]
    assert code(await call("token.create", {"account_id": str(uuid.uuid4()), "token_data": "x"})) == 11002
    assert code(await call("token.create", {"account_id": account_id, "token_data": "x" * 129})) == 11015
    assert code(await call("token.list", {"account_id": str(uuid.uuid4())})) == 11002
    assert code(await call("token.get", {"token_id": str(uuid.uuid4())})) == 11022
    assert code(await call("token.get", {"token_id": "nope"})) == 12022
