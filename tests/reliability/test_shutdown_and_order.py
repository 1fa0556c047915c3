"""Real processes: SIGTERM mid-load loses nothing; three workers keep each account's order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections import defaultdict
from typing import Any

from service.bootstrap import Service
from service.client import TopicReader, bus, envelope
from service.settings import Settings


async def _wait_consuming(consumer_count: Any, queue: str, poll: Any) -> None:
    await poll(lambda: consumer_count(queue), timeout_s=60)


async def test_sigterm_mid_load_loses_nothing_and_doubles_nothing(
        settings: Settings, processes: Any, clean_db: Any, consumer_count: Any, poll: Any) -> None:
    topo_queue = f"{settings.prefix}.tokens"
    first = processes("consume,relay")
    await _wait_consuming(consumer_count, topo_queue, poll)
    async with Service(settings, frozenset()) as probe, \
            bus(settings.amqp.url.get_secret_value(), probe.topology) as client, \
            TopicReader(settings.kafka.bootstrap, probe.topology.results_topic) as results:
        account_id = str(uuid.uuid4())
        await client.publish(envelope("account.create", {
            "email": f"{account_id}@x.io", "password": "pass-word-1", "organization_name": "S",
            "account_id": account_id}))
        await results.wait_for(type="account.create.result", timeout_s=60)
        commands = [envelope("token.create", {"account_id": account_id, "token_data": f"t{i}"})
                    for i in range(300)]
        await asyncio.gather(*(client.publish(c) for c in commands))
        await results.wait_for(count=20, type="token.create.result", timeout_s=60)
        first.signal(signal.SIGTERM)  # with most commands still queued or in flight
        assert await first.wait_exit(60) == 0

        processes("consume,relay")
        done = await results.wait_for(count=len(commands), type="token.create.result", timeout_s=120)
        ids_by_command: dict[str, set[str]] = defaultdict(set)
        for r in done:
            ids_by_command[r["value"]["command_id"]].add(r["value"]["event_id"])
        assert set(ids_by_command) == {c["command_id"] for c in commands}  # nothing lost
        assert all(len(ids) == 1 for ids in ids_by_command.values())  # one event id per command
        assert all(r["value"]["status"] == "ok" for r in done)
        assert await clean_db.tokens.count_documents({"account_id": account_id}) == len(commands)


async def test_three_workers_apply_each_accounts_commands_in_publish_order(
        settings: Settings, processes: Any, clean_db: Any, consumer_count: Any, poll: Any) -> None:
    shards = {"LUNA_AMQP__SHARDS": "3"}
    for i in range(3):
        processes("consume", LUNA_AMQP__OWN_SHARDS=f"[{i}]", **shards)
    for i in range(3):
        await _wait_consuming(consumer_count, f"{settings.prefix}.shard.{i}", poll)
    sharded = settings.model_copy(update={"amqp": settings.amqp.model_copy(update={"shards": 3})})
    async with Service(sharded, frozenset({"relay"})) as relay, \
            bus(settings.amqp.url.get_secret_value(), relay.topology) as client, \
            TopicReader(settings.kafka.bootstrap, relay.topology.events_topic) as events:
        accounts = [str(uuid.uuid4()) for _ in range(12)]
        steps = 8
        sequence = [envelope("account.create", {"email": f"{a}@x.io", "password": "pass-word-1",
                                                "organization_name": "step-0", "account_id": a})
                    for a in accounts]
        sequence += [envelope("account.update", {"account_id": a, "organization_name": f"step-{k}"})
                     for k in range(1, steps + 1) for a in accounts]  # interleaved across accounts
        for cmd in sequence:
            await client.publish(cmd)
        updated = await events.wait_for(count=len(accounts) * steps, type="account.updated", timeout_s=120)
        seen: dict[str, list[str]] = defaultdict(list)
        for ev in updated:
            seen[ev["value"]["account_id"]].append(ev["value"]["data"]["organization_name"])
        for a in accounts:
            assert seen[a] == [f"step-{k}" for k in range(1, steps + 1)], (a, seen[a])
            doc = await clean_db.accounts.find_one({"_id": a})
            assert doc["organization_name"] == f"step-{steps}"
        handled_by = {await consumer_count(f"{settings.prefix}.shard.{i}") for i in range(3)}
        assert handled_by == {1}  # every shard had exactly its one active consumer


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True,
                         check=False)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_sigkilled_service_leaves_no_orphan_face_workers(
        settings: Settings, processes: Any, clean_db: Any, consumer_count: Any, poll: Any) -> None:
    proc = processes("consume")
    await _wait_consuming(consumer_count, f"{settings.prefix}.faces", poll)
    children = _children(proc.proc.pid)
    assert children, "the face worker pool should run in child processes"
    proc.stop_now()  # SIGKILL: no chance to shut the pool down

    async def all_gone() -> bool:
        return not any(_alive(c) for c in children)

    assert await poll(all_gone, timeout_s=15)
