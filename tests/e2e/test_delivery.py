"""Delivery policy end to end: retries through delay queues, dead letters kept and replayed, AMQP
RPC replies, the publisher allow-list."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aio_pika

from consumers.dispatch import HANDLERS
from consumers.ports import Context, Deps, Handled
from contracts.errors import TransientError
from service.bootstrap import Service
from service.client import TopicReader, bus, envelope
from service.settings import Settings


def _with(settings: Settings, **amqp: Any) -> Settings:
    return settings.model_copy(update={"amqp": settings.amqp.model_copy(update=amqp)})


async def test_transient_failures_retry_then_dead_letter_then_replay(settings: Settings, poll: Any) -> None:
    settings = _with(settings, retry_delays_ms=[50, 100])
    failing = {"on": True, "calls": 0}

    async def flaky_version(cmd: Any, ctx: Context, deps: Deps) -> Handled:
        failing["calls"] += 1
        if failing["on"]:
            raise TransientError("MongoDB unreachable (injected)")
        return await HANDLERS["version.get"](cmd, ctx, deps)

    handlers = {**HANDLERS, "version.get": flaky_version}
    async with Service(settings, handlers=handlers) as svc, \
            bus(settings.amqp.url.get_secret_value(), svc.topology) as client, \
            TopicReader(settings.kafka.bootstrap, svc.topology.results_topic) as results:
        cmd = envelope("version.get", {})
        await client.publish(cmd)
        dead = await poll(lambda: svc.db.dead_letters.find_one({"_id": cmd["command_id"]}))
        assert failing["calls"] == 3  # the first try and one per delay queue
        assert dead["attempts"] == 3 and "injected" in dead["reason"]
        assert dead["routing_key"] == "version.get" and dead["replayed_at"] is None
        assert dead["first_failure"] <= dead["last_failure"]
        assert await svc.db.inbox.count_documents({"_id": cmd["command_id"]}) == 0

        listed = await _call(client, results, "dlq.list", {})
        [entry] = listed["result"]["messages"]
        assert entry["message_id"] == cmd["command_id"] and entry["attempts"] == 3

        failing["on"] = False  # the outage is over
        replayed = await _call(client, results, "dlq.replay", {"message_ids": [cmd["command_id"]]})
        assert replayed["result"] == {"replayed": 1}
        [ok] = await results.wait_for(command_id=cmd["command_id"])
        assert ok["value"]["status"] == "ok" and ok["value"]["result"]["Version"]["api"] == 1
        # Replaying again is safe: the inbox answers, nothing runs twice.
        calls = failing["calls"]
        assert (await _call(client, results, "dlq.replay", {"message_ids": [cmd["command_id"]]}))[
            "result"] == {"replayed": 1}
        await results.wait_for(count=2, command_id=cmd["command_id"])
        assert failing["calls"] == calls
        assert (await _call(client, results, "dlq.list", {}))["result"]["count"] == 0


async def _call(client: Any, results: Any, type_: str, payload: dict[str, Any]) -> dict[str, Any]:
    cmd = envelope(type_, payload)
    await client.publish(cmd)
    return dict((await results.wait_for(command_id=cmd["command_id"]))[0]["value"])


async def test_rpc_reply_carries_the_same_result_as_kafka(client: Any, results: Any,
                                                          settings: Settings) -> None:
    conn = await aio_pika.connect(settings.amqp.url.get_secret_value())
    async with conn:
        channel = await conn.channel()
        replies = await channel.declare_queue(exclusive=True)
        cmd = envelope("account.get", {"account_id": str(uuid.uuid4())})
        await client.publish(cmd, reply_to=replies.name, correlation_id="rpc-1")
        async with replies.iterator() as it:
            async for message in it:
                reply = message
                break
        [kafka] = await results.wait_for(command_id=cmd["command_id"])
        assert reply.correlation_id == "rpc-1"
        assert json.loads(reply.body) == kafka["value"]
        assert kafka["value"]["error"]["error_code"] == 11002


async def test_publisher_not_on_the_allow_list_gets_12010_and_changes_nothing(
        settings: Settings, poll: Any) -> None:
    settings = _with(settings, allowed_publishers=["luna"])
    async with Service(settings) as svc, \
            TopicReader(settings.kafka.bootstrap, svc.topology.results_topic) as results:
        guest_url = settings.amqp.url.get_secret_value()
        luna_url = guest_url.replace("guest:guest@", "luna:luna@")
        email = f"allow-{uuid.uuid4().hex[:6]}@x.io"
        denied = envelope("account.create", {"email": email, "password": "pass-word-1",
                                             "organization_name": "D"})
        allowed = envelope("account.create", {"email": "ok-" + email, "password": "pass-word-1",
                                              "organization_name": "A"})
        async with bus(guest_url, svc.topology) as guest:
            await guest.publish(denied, user_id="guest")
        async with bus(luna_url, svc.topology) as luna:
            await luna.publish(allowed, user_id="luna")
        [no] = await results.wait_for(command_id=denied["command_id"])
        [yes] = await results.wait_for(command_id=allowed["command_id"])
        assert no["value"]["error"]["error_code"] == 12010
        assert yes["value"]["status"] == "ok"
        assert await svc.db.accounts.count_documents({"email_lower": email}) == 0
