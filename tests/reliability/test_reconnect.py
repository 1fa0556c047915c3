"""Each server restarted once under a running service process: it comes back by itself.

- RabbitMQ: the consumers re-subscribe (same process, no restart), and commands published after
  the restart are applied once each.
- Kafka: commands handled while Kafka is down wait in the outbox; the relay publishes them once
  Kafka is back.
- MongoDB (FerretDB): commands that arrive while it is down fail transiently, wait in the retry
  delay queues, and are applied when it is back (within the retry budget).

Only servers started by deploy/local are restarted (under CI they always are).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contracts.topology import Topology
from service.client import envelope
from service.settings import Settings
from tests.reliability.conftest import ServiceProcess, queue_depth
from tests.reliability.support import RUN, Publisher, Tally, restart, results_until, server

COMMANDS = 20


def _ours(name: str) -> None:
    if not (RUN / name / "started-by-us").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs its own {name} (deploy/local): it must be restartable here")
        pytest.skip(f"{name} was not started by deploy/local: not ours to restart")


async def _running(processes: Any, consumer_count: Any, poll: Any, settings: Settings,
                   **env: str) -> ServiceProcess:
    proc: ServiceProcess = processes("consume,relay", **env)
    await poll(lambda: consumer_count(f"{settings.prefix}.tokens"), timeout_s=90)
    return proc


@contextlib.asynccontextmanager
async def _running_with_account(processes: Any, consumer_count: Any, poll: Any, settings: Settings,
                                **env: str) -> AsyncIterator[tuple[Publisher, str]]:
    """A `consume,relay` process, a publisher and an account; afterwards the process must still
    be running (it came through the restart by itself)."""
    proc = await _running(processes, consumer_count, poll, settings, **env)
    publisher = Publisher(settings, Tally())
    try:
        yield publisher, await _account(publisher, settings)
    finally:
        await publisher.close()
    assert proc.proc.poll() is None, "the service process should have survived the restart"


async def _account(publisher: Publisher, settings: Settings) -> str:
    account_id = str(uuid.uuid4())
    cmd = envelope("account.create", {"email": f"{account_id}@x.io", "password": "pass-word-1",
                                      "organization_name": "R", "account_id": account_id})
    await _publish(publisher, [cmd])
    seen = await results_until(settings, {cmd["command_id"]}, timeout_s=60)
    assert cmd["command_id"] in seen
    return account_id


async def _publish(publisher: Publisher, commands: list[dict[str, Any]]) -> None:
    for c in commands:
        await publisher.publish(json.dumps(c).encode(), str(c["type"]), str(c["command_id"]), {})


def _tokens(account_id: str) -> list[dict[str, Any]]:
    return [envelope("token.create", {"account_id": account_id, "token_data": f"r{i}"})
            for i in range(COMMANDS)]


async def _each_applied_once(settings: Settings, clean_db: Any, commands: list[dict[str, Any]],
                             account_id: str) -> None:
    expected = {c["command_id"] for c in commands}
    seen = await results_until(settings, expected, timeout_s=180)
    assert expected <= set(seen), f"lost {len(expected - set(seen))} of {len(expected)}"
    assert all(len(seen[cid]) == 1 for cid in expected)  # one result event id per command
    tokens = await clean_db.tokens.find({"account_id": account_id}, {"created_by": 1}).to_list()
    assert sorted(t["created_by"] for t in tokens) == sorted(expected)  # one effect per command


async def test_consumers_come_back_after_a_rabbitmq_restart(
        settings: Settings, processes: Any, clean_db: Any, consumer_count: Any, poll: Any) -> None:
    _ours("rabbitmq")
    async with _running_with_account(processes, consumer_count, poll, settings) as (publisher, account_id):
        await restart("rabbitmq", Tally())
        commands = _tokens(account_id)
        await _publish(publisher, commands)
        await _each_applied_once(settings, clean_db, commands, account_id)
    assert await consumer_count(f"{settings.prefix}.tokens") == 1  # re-subscribed, once


async def test_relay_comes_back_after_a_kafka_restart(
        settings: Settings, processes: Any, clean_db: Any, consumer_count: Any, poll: Any) -> None:
    _ours("kafka")
    async with _running_with_account(processes, consumer_count, poll, settings) as (publisher, account_id):
        await server("kafka", "stop")
        try:
            commands = _tokens(account_id)
            await _publish(publisher, commands)  # handled now; their results wait in the outbox

            async def handled() -> bool:
                return await clean_db.tokens.count_documents({"account_id": account_id}) == COMMANDS

            await poll(handled, timeout_s=60)
            assert await clean_db.outbox.count_documents({"sent": False, "kind": "result"}) >= COMMANDS
        finally:
            await server("kafka", "start")
        await _each_applied_once(settings, clean_db, commands, account_id)


async def test_handlers_retry_through_a_mongodb_restart(
        settings: Settings, processes: Any, clean_db: Any, consumer_count: Any, poll: Any) -> None:
    _ours("ferretdb")
    # a retry budget of 1+2+4+8+16 s outlasts the restart; the default one is 2.6 minutes
    topo = Topology(settings.prefix)
    async with _running_with_account(processes, consumer_count, poll, settings,
                                     LUNA_AMQP__RETRY_DELAYS_MS="[1000, 2000, 4000, 8000, 16000]") \
            as (publisher, account_id):
        await server("ferretdb", "stop")
        try:
            commands = _tokens(account_id)
            await _publish(publisher, commands)

            async def retrying() -> bool:  # failed transiently, now waiting in a retry delay queue
                counts = [await queue_depth(settings, topo.retry_queue(n)) for n in range(1, 6)]
                return sum(counts) > 0

            await poll(retrying, timeout_s=60)
        finally:
            await server("ferretdb", "start")
        await _each_applied_once(settings, clean_db, commands, account_id)
    assert await clean_db.dead_letters.count_documents({}) == 0  # nothing gave up
