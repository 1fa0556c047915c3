"""The reliability suite: thousands of commands while consumer and relay processes are SIGKILLed
at random, RabbitMQ and Kafka are restarted, duplicates and poison messages are injected.

It holds when every command has exactly one result event id, every effect was applied once,
counts in equal counts out, and only the injected poison reached the parking queue.
Size: `LUNA_CHAOS_COMMANDS` (default 300, the CI size; `LUNA_CHAOS_COMMANDS=3000` is the ten-times
run). One kill round per 100 commands (at least 6), every 3-6 s; both brokers restart once.
Broker restarts: `LUNA_CHAOS_BROKERS=0` turns them off (they only happen to servers that
deploy/local started).

Opt-in with `LUNA_CHAOS=1`. Status: in the runs of 2026-12-04 no command was lost or applied twice
on the service side (every command had exactly one result event id on Kafka and one effect in
MongoDB, only the poison was parked), but the test's own Kafka reader did not always see the last
results after the Kafka restart and the run then waited until its deadline; until that reader is
made reliable the suite stays out of CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aiokafka import AIOKafkaConsumer

from service.bootstrap import Service
from service.client import envelope
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LUNA_STACK_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "luna-admin-bus")
RUN = Path(os.environ.get("LUNA_STACK_RUN") or CACHE / "run")
BACKOFF_S = 0.5
STALL_S = 15.0
MATURE_S = 12.0  # a process younger than this may still be booting (dlib models) on 2 busy cores
N = int(os.environ.get("LUNA_CHAOS_COMMANDS", "300"))
ROUNDS = max(6, N // 100)  # kill rounds; then the chaos stops and the system must drain
BROKERS = os.environ.get("LUNA_CHAOS_BROKERS", "1") == "1"


class Tally:
    """What the run did, for the table."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)

    def table(self) -> str:
        rows = [(k, str(v)) for k, v in self.counts.items()]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"| {k.ljust(width)} | {v.rjust(7)} |" for k, v in rows)


async def _restart(server: str, tally: Tally) -> None:
    """Stop and start a local server, only if deploy/local started it."""
    if not (RUN / server / "started-by-us").exists():
        return
    script = ROOT / "deploy" / "local" / f"{server}.sh"
    for action in ("stop", "start"):
        proc = await asyncio.create_subprocess_exec("bash", str(script), action,
                                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert await proc.wait() == 0, f"{server} {action} failed"
    tally.counts[f"{server} restarts"] += 1


class Publisher:
    """Publishes with confirms and retries through a broker restart (a retry may duplicate, which
    is exactly what the service must absorb)."""

    def __init__(self, settings: Settings, tally: Tally) -> None:
        self._settings = settings
        self._tally = tally
        self._conn: aio_pika.abc.AbstractRobustConnection | None = None

    async def publish(self, body: bytes, routing_key: str, message_id: str, headers: dict[str, Any]) -> None:
        while True:
            try:
                if self._conn is None:
                    self._conn = await aio_pika.connect_robust(self._settings.amqp.url.get_secret_value())
                    self._channel = await self._conn.channel(publisher_confirms=True)
                exchange = await self._channel.get_exchange(f"{self._settings.prefix}.commands", ensure=False)
                await exchange.publish(aio_pika.Message(body, message_id=message_id, headers=headers,
                                                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                       routing_key=routing_key, timeout=10)
                return
            except Exception as exc:
                self._tally.counts["publish retries"] += 1
                print("publish retry:", type(exc).__name__, str(exc)[:200], flush=True)
                if self._conn is not None:
                    await asyncio.gather(self._conn.close(), return_exceptions=True)
                self._conn = None
                await asyncio.sleep(BACKOFF_S)  # back-off while the broker restarts

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


async def _chaos(processes: Any, workers: list[Any], relays: list[Any], stop: asyncio.Event,
                 tally: Tally, rng: random.Random) -> None:
    """Every few seconds, SIGKILL a random consumer or relay and start a fresh one; restart each
    broker once along the way. Like a process supervisor (Kubernetes, compose), start a fresh
    process for any that exited on its own (a service exits when it cannot start)."""
    restarts = ["rabbitmq", "kafka"] if BROKERS else []
    rounds = 0
    next_kill = asyncio.get_running_loop().time() + rng.uniform(3.0, 6.0)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):  # the supervisor's period; ends at once on stop
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        if stop.is_set():
            break
        for pool, roles in ((workers, "consume"), (relays, "relay")):
            for p in [p for p in pool if p.proc.poll() is not None]:
                pool.remove(p)
                pool.append(processes(roles, LUNA_KAFKA__RELAY_LEASE_S="3"))
                tally.counts[f"{roles} restarted after exiting"] += 1
        if rounds >= ROUNDS or asyncio.get_running_loop().time() < next_kill:
            continue
        next_kill = asyncio.get_running_loop().time() + rng.uniform(3.0, 6.0)
        rounds += 1
        pool, roles = (workers, "consume") if rng.random() < 0.6 else (relays, "relay")
        grown = [p for p in pool if p.age_s() > MATURE_S]  # killing a process still booting proves little
        if not grown:
            continue
        victim = rng.choice(grown)
        pool.remove(victim)
        victim.stop_now()
        tally.counts[f"{roles} SIGKILLs"] += 1
        pool.append(processes(roles, LUNA_KAFKA__RELAY_LEASE_S="3"))
        if restarts and rounds % 3 == 0:
            await _restart(restarts.pop(0), tally)


@pytest.mark.skipif(os.environ.get("LUNA_CHAOS") != "1",
                    reason="opt-in (LUNA_CHAOS=1): not yet reliable enough for CI, see the module docstring")
async def test_chaos_every_command_once(settings: Settings, processes: Any, clean_db: Any,
                                        consumer_count: Any, poll: Any) -> None:
    rng = random.Random(7)
    tally = Tally()
    async with Service(settings, frozenset()) as declare:  # declares nothing but the database indexes
        del declare
    workers = [processes("consume", LUNA_KAFKA__RELAY_LEASE_S="3") for _ in range(2)]
    relays = [processes("relay", LUNA_KAFKA__RELAY_LEASE_S="3") for _ in range(2)]
    await poll(lambda: consumer_count(f"{settings.prefix}.tokens"), timeout_s=90)

    accounts = [str(uuid.uuid4()) for _ in range(10)]
    setup = [envelope("account.create", {"email": f"{a}@x.io", "password": "pass-word-1",
                                         "organization_name": "C", "account_id": a}) for a in accounts]
    commands = [envelope("token.create", {"account_id": rng.choice(accounts), "token_data": f"t{i}"})
                for i in range(N)]
    poison = [(f"{uuid.uuid4()}", b"{not json" if i % 2 else json.dumps(
        envelope("token.frobnicate", {})).encode()) for i in range(max(5, N // 100))]
    publisher = Publisher(settings, tally)
    for cmd in setup:
        await publisher.publish(json.dumps(cmd).encode(), cmd["type"], cmd["command_id"], {})
    # The accounts exist before their tokens are asked for (another queue, no order between them).
    created = await _results_until(settings, {c["command_id"] for c in setup}, timeout_s=120)
    assert len(created) == len(setup), "the setup accounts were not all created"
    print(f"\nchaos: {len(setup)} accounts created; publishing {N} commands", flush=True)

    stop = asyncio.Event()
    chaos = asyncio.create_task(_chaos(processes, workers, relays, stop, tally, rng))
    try:
        order = [(json.dumps(c).encode(), str(c["type"]), str(c["command_id"])) for c in commands]
        for poison_id, poison_body in poison:
            order.insert(rng.randrange(len(order)), (poison_body, "token.create", poison_id))
        for body, key, mid in order:
            await publisher.publish(body, key, mid, {})
            tally.counts["published"] += 1
            if rng.random() < 0.05:
                await publisher.publish(body, key, mid, {})
                tally.counts["duplicates injected"] += 1
        print(f"chaos: all published {dict(tally.counts)}", flush=True)
        expected = {c["command_id"] for c in setup + commands} | {mid for mid, _ in poison}
        seen = await _results_until(settings, expected, timeout_s=300 + N * 0.05)
        print(f"chaos: results for {len(expected & set(seen))} of {len(expected)}", flush=True)
    finally:
        stop.set()
        await chaos
        await publisher.close()

    tally.counts["commands"] = len(commands) + len(setup)
    tally.counts["poison injected"] = len(poison)
    lost = expected - set(seen)
    doubled = {cid for cid, ids in seen.items() if len(ids) > 1}
    tally.counts["lost"] = len(lost)
    tally.counts["doubled (two event ids)"] = len(doubled)
    tokens = await clean_db.tokens.find({}, {"created_by": 1}).to_list()
    creators = [t["created_by"] for t in tokens]
    tally.counts["effects applied twice"] = len(creators) - len(set(creators))
    parked = await _parked(settings)
    print("\n" + tally.table())
    assert not lost and not doubled
    assert sorted(creators) == sorted(c["command_id"] for c in commands)
    assert parked == {mid for mid, _ in poison}


async def _results_until(settings: Settings, expected: set[str], timeout_s: float) -> dict[str, set[str]]:
    """Read the results topic until every expected command has a result; command → event ids.

    A reader that saw nothing new for `STALL_S` is replaced by a fresh one reading from the
    beginning again (re-reading is harmless: event ids are collected in sets). After a broker
    restart, an aiokafka consumer without group was seen to stay stuck on a partition."""
    seen: dict[str, set[str]] = defaultdict(set)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not expected <= set(seen) and loop.time() < deadline:
        consumer = AIOKafkaConsumer(f"{settings.prefix}.results", bootstrap_servers=settings.kafka.bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        try:
            await asyncio.wait_for(consumer.start(), 15)
            quiet_since = loop.time()
            while (not expected <= set(seen) and loop.time() < deadline
                   and loop.time() - quiet_since < STALL_S):
                try:
                    batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 10)
                except Exception:
                    continue
                for records in batch.values():
                    for r in records:
                        value = json.loads(r.value)
                        if value["event_id"] not in seen[value["command_id"]]:
                            quiet_since = loop.time()
                        seen[value["command_id"]].add(value["event_id"])
        except Exception:
            await asyncio.sleep(BACKOFF_S)  # the broker is restarting: try a fresh reader
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), 10)
    return seen


async def _parked(settings: Settings) -> set[str]:
    conn = await aio_pika.connect(settings.amqp.url.get_secret_value())
    ids: set[str] = set()
    async with conn:
        channel = await conn.channel()
        queue = await channel.get_queue(f"{settings.prefix}.parking", ensure=False)
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            ids.add(str(message.message_id))
    return ids
