"""What the reliability tests share: a tally for the printed table, restarting a local server,
a publisher that retries through a broker restart, and a results reader that survives one."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import aio_pika
from aiokafka import AIOKafkaConsumer

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LUNA_STACK_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "luna-admin-bus")
RUN = Path(os.environ.get("LUNA_STACK_RUN") or CACHE / "run")
BACKOFF_S = 0.5
PUBLISH_DEADLINE_S = 180.0  # a broker restart takes seconds; minutes mean it did not come back
SERVER_SCRIPT_S = 180.0  # stop or start of one local server
STALL_S = 15.0


class Tally:
    """What the run did, for the table."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)

    def table(self) -> str:
        rows = [(k, str(v)) for k, v in self.counts.items()]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"| {k.ljust(width)} | {v.rjust(7)} |" for k, v in rows)


async def server(name: str, action: str) -> None:
    """`deploy/local/<name>.sh stop|start`."""
    script = ROOT / "deploy" / "local" / f"{name}.sh"
    proc = await asyncio.create_subprocess_exec("bash", str(script), action,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        code = await asyncio.wait_for(proc.wait(), timeout=SERVER_SCRIPT_S)
    except TimeoutError:
        proc.kill()
        raise AssertionError(f"{name} {action} took over {SERVER_SCRIPT_S} s") from None
    assert code == 0, f"{name} {action} failed"


async def restart(name: str, tally: Tally) -> None:
    """Stop and start a local server, only if deploy/local started it."""
    if not (RUN / name / "started-by-us").exists():
        return
    await server(name, "stop")
    await server(name, "start")
    tally.counts[f"{name} restarts"] += 1


class Publisher:
    """Publishes with confirms and retries through a broker restart (a retry may duplicate, which
    is exactly what the service must absorb)."""

    def __init__(self, settings: Settings, tally: Tally) -> None:
        self._settings = settings
        self._tally = tally
        self._conn: aio_pika.abc.AbstractRobustConnection | None = None

    async def publish(self, body: bytes, routing_key: str, message_id: str, headers: dict[str, Any]) -> None:
        deadline = asyncio.get_running_loop().time() + PUBLISH_DEADLINE_S
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
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"could not publish for {PUBLISH_DEADLINE_S} s: {exc!r}") from exc
                await asyncio.sleep(BACKOFF_S)  # back-off while the broker restarts

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


async def results_until(settings: Settings, expected: set[str], timeout_s: float) -> dict[str, set[str]]:
    """Read the results topic until every expected command has a result; command → event ids.

    A reader that saw nothing new for `STALL_S` is replaced by a fresh one reading from the
    beginning again (re-reading is harmless: event ids are collected in sets). After a broker
    restart, an aiokafka consumer without group was seen to stay stuck on a partition, and its
    `stop()` to raise CancelledError from its own fetch task: every call to the reader runs in a
    task of its own, with a bound, so neither can end or hang the test."""
    seen: dict[str, set[str]] = defaultdict(set)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not expected <= set(seen) and loop.time() < deadline:
        consumer = AIOKafkaConsumer(f"{settings.prefix}.results", bootstrap_servers=settings.kafka.bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        try:
            if not await _bounded(consumer.start(), 15):
                await asyncio.sleep(BACKOFF_S)  # the broker is restarting: try a fresh reader
                continue
            quiet_since = loop.time()
            while (not expected <= set(seen) and loop.time() < deadline
                   and loop.time() - quiet_since < STALL_S):
                batch = await _bounded(consumer.getmany(timeout_ms=1000), 10)
                for records in (batch or {}).values():
                    for r in records:
                        value = json.loads(r.value)
                        if value["event_id"] not in seen[value["command_id"]]:
                            quiet_since = loop.time()
                        seen[value["command_id"]].add(value["event_id"])
        finally:
            await _bounded(consumer.stop(), 10)
    return seen


async def _bounded(coro: Any, timeout_s: float) -> Any:
    """Run `coro` in its own task for at most `timeout_s`: its result (True for None), or None if
    it failed, was cancelled from inside, or ran out of time (then it is cancelled)."""
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait([task], timeout=timeout_s)
    if not done:
        task.cancel()
        await asyncio.wait([task], timeout=timeout_s)
        return None
    if task.cancelled() or task.exception() is not None:
        return None
    return task.result() if task.result() is not None else True


async def parked(settings: Settings) -> set[str]:
    conn = await aio_pika.connect(settings.amqp.url.get_secret_value())
    ids: set[str] = set()
    async with conn:
        channel = await conn.channel()
        queue = await channel.get_queue(f"{settings.prefix}.parking", ensure=False)
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            ids.add(str(message.message_id))
    return ids


async def queue_depths(settings: Settings) -> dict[str, tuple[int, int]]:
    """Every queue of the test's prefix with (ready, unacked) messages, from the management API."""
    import aiohttp
    import yarl

    amqp = yarl.URL(settings.amqp.url.get_secret_value())
    auth = {"Authorization": aiohttp.encode_basic_auth(amqp.user or "guest", amqp.password or "guest")}
    url = f"http://{amqp.host}:15672/api/queues/%2F?columns=name,messages_ready,messages_unacknowledged"
    async with aiohttp.ClientSession(headers=auth) as http, http.get(yarl.URL(url, encoded=True)) as r:
        queues = await r.json()
    return {q["name"]: (q.get("messages_ready", 0), q.get("messages_unacknowledged", 0)) for q in queues
            if q["name"].startswith(f"{settings.prefix}.")}
