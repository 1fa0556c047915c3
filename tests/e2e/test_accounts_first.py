"""account.create and account.get end to end: RabbitMQ in, MongoDB state, Kafka results out."""

from __future__ import annotations

import json
import uuid
from typing import Any

from contracts import ids
from service.client import envelope


async def test_create_then_get(client: Any, results: Any, events: Any, service: Any) -> None:
    email = f"Ada-{uuid.uuid4().hex[:6]}@Example.com"
    create = envelope("account.create", {"email": email, "password": "s3cret-pass",
                                         "organization_name": "Analytical Engines"})
    await client.publish(create)

    [res] = await results.wait_for(command_id=create["command_id"])
    assert res["value"]["status"] == "ok", res
    info = res["value"]["result"]
    account_id = str(ids.derive(uuid.UUID(create["command_id"]), "account"))
    assert info == {"account_id": account_id, "email": email,
                    "organization_name": "Analytical Engines", "status": False}
    assert res["key"] == account_id
    assert res["headers"]["event_id"] == res["value"]["event_id"]

    doc = await service.db.accounts.find_one({"_id": account_id})
    assert doc["email_lower"] == email.lower()
    assert doc["password_hash"].startswith("$argon2id$")
    assert "s3cret-pass" not in json.dumps(doc, default=str)

    [ev] = await events.wait_for(type="account.created")
    assert ev["value"]["account_id"] == account_id and ev["key"] == account_id

    get = envelope("account.get", {"account_id": account_id})
    await client.publish(get)
    [got] = await results.wait_for(command_id=get["command_id"])
    assert got["value"]["result"] == {"info": info, "stats": {
        "person_count": 0, "list_count": 0, "descriptor_count": 0, "token_count": 0}}


async def test_redelivery_has_one_effect_and_reemits_the_same_event_id(
        client: Any, results: Any, events: Any, service: Any) -> None:
    email = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    create = envelope("account.create", {"email": email, "password": "s3cret-pass",
                                         "organization_name": "Navy"})
    await client.publish(create)
    [first] = await results.wait_for(command_id=create["command_id"])
    await client.publish(create)  # the same message again, as a redelivery would bring it
    both = await results.wait_for(count=2, command_id=create["command_id"])

    assert {r["value"]["event_id"] for r in both} == {first["value"]["event_id"]}
    assert both[0]["value"] == both[1]["value"]
    assert await service.db.accounts.count_documents({"email_lower": email}) == 1
    assert await service.db.inbox.count_documents({"_id": create["command_id"]}) == 1
    created = [e for e in await events.wait_for(type="account.created")
               if e["value"]["command_id"] == create["command_id"]]
    assert len(created) == 1


async def test_errors_carry_their_codes(client: Any, results: Any, service: Any) -> None:
    email = f"dup-{uuid.uuid4().hex[:6]}@example.com"
    first = envelope("account.create", {"email": email, "password": "s3cret-pass", "organization_name": "A"})
    again = envelope("account.create", {"email": email.upper(), "password": "s3cret-pass",
                                        "organization_name": "B"})
    short = envelope("account.create", {"email": "x@y.z", "password": "short", "organization_name": "C"})
    missing = envelope("account.get", {"account_id": str(uuid.uuid4())})
    unknown = envelope("account.frobnicate", {})
    for cmd in (first, again, short, missing, unknown):
        await client.publish(cmd)

    async def code(cmd: dict[str, Any]) -> int:
        [r] = await results.wait_for(command_id=cmd["command_id"])
        return int(r["value"]["error"]["error_code"]) if r["value"]["error"] else 0

    assert [await code(c) for c in (first, again, short, missing, unknown)] == [0, 40001, 11014, 11002, 12021]
    assert await service.db.accounts.count_documents({"email_lower": email}) == 1


async def test_non_json_is_an_error_result_and_is_parked(client: Any, results: Any, service: Any,
                                                         settings: Any, poll: Any) -> None:
    import aio_pika

    body = b"{not json at all"
    await client.publish(body, routing_key="account.create", message_id="not-a-uuid")
    [res] = await results.wait_for(command_id=str(ids.for_body(body)))
    assert res["value"]["status"] == "error"
    assert res["value"]["error"]["error_code"] == 12002
    assert res["value"]["type"] == "account.create.result"  # named after the routing key

    conn = await aio_pika.connect(settings.amqp.url.get_secret_value())
    async with conn:
        channel = await conn.channel()
        parking = await channel.get_queue(service.topology.parking_queue, ensure=False)
        message = await poll(lambda: parking.get(fail=False, no_ack=True))
        assert message.body == body
        assert message.headers["x-error-code"] == 12002
        assert message.headers["x-original-routing-key"] == "account.create"
