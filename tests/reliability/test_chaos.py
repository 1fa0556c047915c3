"""The reliability suite: thousands of commands while consumer and relay processes are SIGKILLed
at random, RabbitMQ and Kafka are restarted, duplicates and poison messages are injected.

It holds when every command has exactly one result event id, every effect was applied once,
counts in equal counts out, and only the injected poison reached the parking queue.
Size: `LUNA_CHAOS_COMMANDS` (default 300, the CI size; `LUNA_CHAOS_COMMANDS=3000` is the ten-times
run). One kill round per 100 commands (at least 6), every 3-6 s; both brokers restart once.
Broker restarts: `LUNA_CHAOS_BROKERS=0` turns them off (they only happen to servers that
deploy/local started).

It runs in CI at the small size. It used to be opt-in: FerretDB v1 (the local MongoDB stand-in)
stopped answering under this churn. The cause was ours to avoid: the relay marked a batch of up to
500 entries sent as one bulk of single updates, and FerretDB v1 holds one PostgreSQL connection
per operation of a bulk until the bulk ends, so a backlog (after a Kafka restart) outgrew its
250-connection pool and it waited forever on itself. The relay now marks a batch with one
`update_many` (`tests/integration/test_outbox_backlog.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import uuid
from typing import Any

from service.bootstrap import Service
from service.client import envelope
from service.settings import Settings
from tests.reliability.support import RUN, Publisher, Tally, parked, queue_depths, restart, results_until

MATURE_S = 12.0  # a process younger than this may still be booting (dlib models) on 2 busy cores
N = int(os.environ.get("LUNA_CHAOS_COMMANDS", "300"))
ROUNDS = max(6, N // 100)  # kill rounds; then the chaos stops and the system must drain
BROKERS = os.environ.get("LUNA_CHAOS_BROKERS", "1") == "1"


ROUND_S = (3.0, 6.0)  # seconds between kill rounds
ROUND_WAIT_S = 120.0  # a round later than this means the chaos itself is stuck
# Command i goes out once i * ROUNDS / len(commands) kill rounds are done, so the kills are spread
# over the publishing whatever the speed of the machine; within a round, commands are spaced out.
PACE_S = sum(ROUND_S) / 2 * ROUNDS / max(N, 1)
# The brokers restart a third and two thirds of the way (both while commands are being published).
RESTART_AT = {max(1, ROUNDS // 3): "rabbitmq", max(2, 2 * ROUNDS // 3): "kafka"} if BROKERS else {}


class Chaos:
    """Every few seconds, SIGKILL a random consumer or relay and start a fresh one; restart each
    broker once along the way. Like a process supervisor (Kubernetes, compose), start a fresh
    process for any that exited on its own (a service exits when it cannot start). `rounds` counts
    the kills done; `advanced` is set after each."""

    def __init__(self, processes: Any, workers: list[Any], relays: list[Any], tally: Tally,
                 rng: random.Random) -> None:
        self._processes, self._workers, self._relays = processes, workers, relays
        self._tally, self._rng = tally, rng
        self.rounds = 0
        self.published_at_kill: list[int] = []
        self.advanced = asyncio.Event()
        self.stop = asyncio.Event()

    def _spawn(self, roles: str) -> Any:
        return self._processes(roles, LUNA_KAFKA__RELAY_LEASE_S="3", LUNA_LOG__LEVEL="INFO")

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_kill = loop.time() + self._rng.uniform(*ROUND_S)
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):  # the supervisor's period; ends at once on stop
                await asyncio.wait_for(self.stop.wait(), timeout=0.5)
            if self.stop.is_set():
                break
            for pool, roles in ((self._workers, "consume"), (self._relays, "relay")):
                for p in [p for p in pool if p.proc.poll() is not None]:
                    pool.remove(p)
                    pool.append(self._spawn(roles))
                    self._tally.counts[f"{roles} restarted after exiting"] += 1
            if self.rounds >= ROUNDS or loop.time() < next_kill:
                continue
            pool, roles = (self._workers, "consume") if self._rng.random() < 0.6 else (self._relays, "relay")
            grown = [p for p in pool if p.age_s() > MATURE_S]  # killing a process still booting proves little
            if not grown:
                continue  # the round is not spent: try again at the next tick
            next_kill = loop.time() + self._rng.uniform(*ROUND_S)
            victim = self._rng.choice(grown)
            pool.remove(victim)
            victim.stop_now()
            self._tally.counts[f"{roles} SIGKILLs"] += 1
            self.published_at_kill.append(self._tally.counts["published"])
            pool.append(self._spawn(roles))
            self.rounds += 1
            self.advanced.set()  # before a restart: publishing goes on while the broker is away
            if self.rounds in RESTART_AT:
                await restart(RESTART_AT[self.rounds], self._tally)


async def _until_round(chaos: Chaos, task: asyncio.Task[None], n: int) -> None:
    """Wait until `n` kill rounds are done; fail at once if the chaos task died."""
    while chaos.rounds < n:
        chaos.advanced.clear()
        waiter = asyncio.ensure_future(chaos.advanced.wait())
        done, _ = await asyncio.wait({waiter, task}, timeout=ROUND_WAIT_S,
                                     return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task in done:
            task.result()  # its exception, if it has one
            raise AssertionError("the chaos task ended early")
        if not done:
            raise AssertionError(f"kill round {chaos.rounds + 1} did not happen within {ROUND_WAIT_S} s")


async def _pace(task: asyncio.Task[None]) -> None:
    """Space commands out; fail at once if the chaos task died meanwhile."""
    done, _ = await asyncio.wait({task}, timeout=PACE_S)
    if done:
        task.result()
        raise AssertionError("the chaos task ended early")


async def test_chaos_every_command_once(settings: Settings, processes: Any, clean_db: Any,
                                        consumer_count: Any, poll: Any) -> None:
    rng = random.Random(7)
    tally = Tally()
    async with Service(settings, frozenset()) as declare:  # declares nothing but the database indexes
        del declare
    workers = [processes("consume", LUNA_KAFKA__RELAY_LEASE_S="3", LUNA_LOG__LEVEL="INFO") for _ in range(2)]
    relays = [processes("relay", LUNA_KAFKA__RELAY_LEASE_S="3", LUNA_LOG__LEVEL="INFO") for _ in range(2)]
    await poll(lambda: consumer_count(f"{settings.prefix}.tokens"), timeout_s=90)

    accounts = [str(uuid.uuid4()) for _ in range(10)]
    setup = [envelope("account.create", {"email": f"{a}@x.io", "password": "pass-word-1",
                                         "organization_name": "C", "account_id": a}) for a in accounts]
    commands = [envelope("token.create", {"account_id": rng.choice(accounts), "token_data": f"t{i}"})
                for i in range(N)]
    poison = [_poison(i) for i in range(max(5, N // 100))]
    publisher = Publisher(settings, tally)
    for cmd in setup:
        await publisher.publish(json.dumps(cmd).encode(), cmd["type"], cmd["command_id"], {})
    # The accounts exist before their tokens are asked for (another queue, no order between them).
    created = await results_until(settings, {c["command_id"] for c in setup}, timeout_s=120)
    assert len(created) == len(setup), "the setup accounts were not all created"
    print(f"\nchaos: {len(setup)} accounts created; publishing {N} commands", flush=True)

    chaos = Chaos(processes, workers, relays, tally, rng)
    chaos_task = asyncio.create_task(chaos.run())
    try:
        order = [(json.dumps(c).encode(), str(c["type"]), str(c["command_id"])) for c in commands]
        for poison_id, poison_body in poison:
            order.insert(rng.randrange(len(order)), (poison_body, "token.create", poison_id))
        for i, (body, key, mid) in enumerate(order):
            await _until_round(chaos, chaos_task, i * ROUNDS // len(order))
            await publisher.publish(body, key, mid, {})
            tally.counts["published"] += 1
            if rng.random() < 0.05:
                await publisher.publish(body, key, mid, {})
                tally.counts["duplicates injected"] += 1
            await _pace(chaos_task)
        print(f"chaos: all published {dict(tally.counts)}", flush=True)
        await _until_round(chaos, chaos_task, ROUNDS)
        expected = {c["command_id"] for c in setup + commands} | {mid for mid, _ in poison}
        seen = await results_until(settings, expected, timeout_s=300 + N * 0.05)
        print(f"chaos: results for {len(expected & set(seen))} of {len(expected)}", flush=True)
    finally:
        chaos.stop.set()
        await asyncio.gather(chaos_task, return_exceptions=True)
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
    parked_ids = await parked(settings)
    print("\n" + tally.table())
    if lost:
        kinds = {c["command_id"]: c["type"] for c in setup + commands} | {mid: "poison" for mid, _ in poison}
        await _explain(settings, clean_db, {cid: kinds[cid] for cid in lost})
    # the chaos did happen, among the commands: every kill but the last before the last command
    assert len(chaos.published_at_kill) == ROUNDS
    assert all(0 < p < len(order) for p in chaos.published_at_kill[:-1]), chaos.published_at_kill
    for name in RESTART_AT.values():
        if (RUN / name / "started-by-us").exists():  # only servers deploy/local started are restarted
            assert tally.counts[f"{name} restarts"] == 1, name
    assert not lost and not doubled
    assert sorted(creators) == sorted(c["command_id"] for c in commands)
    assert parked_ids == {mid for mid, _ in poison}


def _poison(i: int) -> tuple[str, bytes]:
    """(command id, body): bad JSON (its result is keyed by the AMQP message id) or a well-formed
    envelope of an unknown type (keyed by the envelope's own command id, like any command)."""
    if i % 2:
        return str(uuid.uuid4()), b"{not json"
    unknown = envelope("token.frobnicate", {})
    return str(unknown["command_id"]), json.dumps(unknown).encode()


async def _explain(settings: Settings, db: Any, lost: dict[str, str]) -> None:
    """Where each command the reader did not see got to: inbox, outbox, dead letters, the queues,
    and a last look at the results topic with a fresh reader."""
    ids = sorted(lost)
    inbox = {d["_id"]: d for d in await db.inbox.find({"_id": {"$in": ids}}).to_list()}
    outbox = {d["command_id"]: d for d in await db.outbox.find({"command_id": {"$in": ids}, "kind": "result"})
              .to_list()}
    dead = {d["_id"]: d for d in await db.dead_letters.find({"_id": {"$in": ids}}).to_list()}
    print("queues at the end:", await queue_depths(settings), flush=True)
    again = await results_until(settings, set(lost), timeout_s=45)
    for cid in ids:
        print(f"lost {lost[cid]} {cid}: inbox={inbox.get(cid, {}).get('status')} "
              f"outbox_sent={outbox.get(cid, {}).get('sent')} dead_letter={dead.get(cid, {}).get('reason')} "
              f"on_kafka_after_all={cid in again}", flush=True)
