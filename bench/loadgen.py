"""The load generator: publishes commands (pipelined, with publisher confirms) and times each one
until its result is seen on the Kafka results topic.

Latency of a command = the moment its result record is read from Kafka - the moment its publish
started, both on this process's monotonic clock. Two offered-load models:
- closed loop (`rate=0`): at most `inflight` commands without a result; as fast as the service goes;
- open loop (`rate>0`): one publish every 1/rate s whatever the service does (no coordinated
  omission: a slow service does not slow the generator down).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aio_pika
from aiokafka import AIOKafkaConsumer
from pamqp.common import FieldTable

from bench.stats import LatencySummary, RunResult
from bench.workload import Command

OnResult = Callable[[str, float, str, str], None]  # command_id, seen_at, status, error detail


class Publisher:
    """One channel with publisher confirms; each `publish` returns when the broker confirmed."""

    def __init__(self, amqp_url: str, exchange: str) -> None:
        self._url = amqp_url
        self._exchange_name = exchange
        self._conn: aio_pika.abc.AbstractConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def __aenter__(self) -> Publisher:
        self._conn = await aio_pika.connect(self._url)
        channel = await self._conn.channel(publisher_confirms=True)
        self._exchange = await channel.get_exchange(self._exchange_name, ensure=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._conn:
            await self._conn.close()

    async def publish(self, cmd: Command) -> None:
        assert self._exchange is not None
        # The shard key header, as service.client.BusClient sets it (sharded mode hashes on it).
        headers: FieldTable | None = {"account_id": cmd.account_id} if cmd.account_id else None
        msg = aio_pika.Message(cmd.body, content_type="application/json", message_id=cmd.command_id,
                               type=cmd.type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, headers=headers)
        await self._exchange.publish(msg, routing_key=cmd.type)


class ResultReader:
    """Reads a results topic from its beginning and reports every record to `on_result`."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                          enable_auto_commit=False, group_id=None)
        self.on_result: OnResult = lambda *_: None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ResultReader:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="result-reader")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            seen_at = time.perf_counter()
            for records in batch.values():
                for r in records:
                    headers = dict(r.headers)
                    command_id = headers.get("command_id", b"").decode()
                    value = json.loads(r.value)
                    error = value.get("error") or {}
                    status, detail = value.get("status", "?"), str(error.get("detail", ""))
                    self.on_result(command_id, seen_at, status, detail)


@dataclass
class _Tracker:
    """Send times, latencies and completion of one run."""

    sent: dict[str, tuple[float, str]]
    total: int
    window: asyncio.Semaphore | None
    done: asyncio.Event
    progress: asyncio.Event

    def __post_init__(self) -> None:
        self.latency: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.completed = 0
        self.last_seen = 0.0
        self._finished: set[str] = set()

    def on_result(self, command_id: str, seen_at: float, status: str, detail: str) -> None:
        entry = self.sent.get(command_id)
        if entry is None or command_id in self._finished:  # warm-up leftovers, or a re-sent result
            return
        self._finished.add(command_id)
        started, type_ = entry
        self.latency.setdefault(type_, []).append(seen_at - started)
        if status != "ok":
            self.errors[f"{type_}: {detail[:120]}"] += 1
        self.completed += 1
        self.last_seen = seen_at
        self.progress.set()
        if self.window is not None:
            self.window.release()
        if self.completed >= self.total:
            self.done.set()


async def drive(publisher: Publisher, reader: ResultReader, commands: Sequence[Command], *, label: str,
                mix: dict[str, float], rate: float = 0.0, inflight: int = 200,
                idle_timeout_s: float = 60.0) -> RunResult:
    """Publish `commands` and wait for all their results (or until none came for `idle_timeout_s`)."""
    track = _Tracker({}, len(commands), asyncio.Semaphore(inflight) if rate <= 0 else None,
                     asyncio.Event(), asyncio.Event())
    reader.on_result = track.on_result
    confirms = asyncio.Semaphore(2000)  # bounds unconfirmed publishes (memory), not the offered load
    pending: set[asyncio.Task[None]] = set()
    lag = 0.0

    async def confirmed(cmd: Command) -> None:
        try:
            await publisher.publish(cmd)
        finally:
            confirms.release()

    async def generate() -> None:
        nonlocal lag
        start = time.perf_counter()
        for i, cmd in enumerate(commands):
            if track.window is not None:
                await track.window.acquire()
            else:
                due = start + i / rate
                ahead = due - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)  # pacing of the open loop, not synchronisation
                lag = max(lag, time.perf_counter() - due)
            await confirms.acquire()
            track.sent[cmd.command_id] = (time.perf_counter(), cmd.type)
            task = asyncio.create_task(confirmed(cmd))
            pending.add(task)
            task.add_done_callback(pending.discard)

    first = time.perf_counter()
    generator = asyncio.create_task(generate())
    while not track.done.is_set():
        track.progress.clear()
        try:
            await asyncio.wait_for(track.progress.wait(), idle_timeout_s)
        except TimeoutError:
            break  # results stopped coming: report what arrived
    generator.cancel()
    await asyncio.gather(generator, *pending, return_exceptions=True)
    reader.on_result = lambda *_: None
    return _result(track, label, mix, rate, inflight, first, lag)


def _result(track: _Tracker, label: str, mix: dict[str, float], rate: float, inflight: int,
            first: float, lag: float) -> RunResult:
    sends = [t for t, _ in track.sent.values()]
    seconds = max(1e-9, track.last_seen - first)
    send_span = max(1e-9, max(sends, default=first) - first)
    everything = [x for v in track.latency.values() for x in v]
    return RunResult(
        label=label, mode=f"open(rate={rate:g}/s)" if rate > 0 else f"closed(inflight={inflight})",
        mix={k: round(v, 3) for k, v in mix.items()}, sent=len(track.sent), completed=track.completed,
        errors=sum(track.errors.values()), seconds=round(seconds, 3),
        throughput=round(track.completed / seconds, 2),
        offered_rate=round(len(sends) / send_span, 2) if rate > 0 else 0.0,
        latency=LatencySummary.of(everything),
        by_type={k: LatencySummary.of(v) for k, v in sorted(track.latency.items())},
        error_samples=[f"{n}x {e}" for e, n in track.errors.most_common(5)],
        max_schedule_lag_ms=round(lag * 1000, 2))
