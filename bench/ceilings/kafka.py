"""Kafka ceiling: the same result (and domain event) records, produced by an idempotent aiokafka
producer with acks=all and the relay's linger, configured as `producers.kafka.KafkaPublisher`.

- `pipelined` (the issue's definition): every record sent without waiting, many in flight;
- `relay-shaped`: one command's records, wait for their acks, next command; what the relay does
  when it is woken after every single command, as it is under a one-at-a-time consumer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from bench.ceilings import Ceiling
from bench.ceilings.mirror import Record, Written
from bench.cleanup import create_topics, remove
from bench.config import Endpoints, Names


def _producer(ep: Endpoints) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=ep.kafka_bootstrap, client_id="bench-ceiling",
                            enable_idempotence=True, acks="all", linger_ms=2, request_timeout_ms=15000)


async def _send(producer: AIOKafkaProducer, topics: dict[str, str], r: Record) -> asyncio.Future[object]:
    fut: asyncio.Future[object] = await producer.send(topics[r.stream], r.value, key=r.key.encode(),
                                                      headers=[(k, v.encode()) for k, v in r.headers.items()])
    return fut


async def _pipelined(producer: AIOKafkaProducer, topics: dict[str, str], work: Sequence[Written],
                     in_flight: int) -> None:
    futures: list[asyncio.Future[object]] = []
    for w in work:
        for r in w.records:
            futures.append(await _send(producer, topics, r))
        if len(futures) >= in_flight:
            await asyncio.gather(*futures)
            futures.clear()
    await asyncio.gather(*futures)


async def _relay_shaped(producer: AIOKafkaProducer, topics: dict[str, str], work: Sequence[Written]) -> None:
    for w in work:
        await asyncio.gather(*[await _send(producer, topics, r) for r in w.records])


async def measure(ep: Endpoints, work: Sequence[Written], pipelined: bool, in_flight: int = 1000) -> Ceiling:
    names = Names.fresh("ceil-kafka")
    topo = names.topology
    topics = {"results": topo.results_topic, "events": topo.events_topic}
    await create_topics(ep, topics.values())
    producer = _producer(ep)
    await producer.start()
    try:
        # One record per topic first: metadata and the producer id are set-up, not throughput.
        await asyncio.gather(*[await _send(producer, topics, w.records[-1]) for w in work[:1]])
        start = time.perf_counter()
        if pipelined:
            await _pipelined(producer, topics, work, in_flight)
        else:
            await _relay_shaped(producer, topics, work)
        seconds = time.perf_counter() - start
    finally:
        await producer.stop()
        await remove(ep, names)
    records = sum(len(w.records) for w in work)
    if pipelined:
        return Ceiling.of("kafka produce pipelined", len(work), records, seconds, "record", True,
                          note=f"idempotent, acks=all, linger 2 ms, up to {in_flight} in flight")
    return Ceiling.of("kafka produce relay-shaped", len(work), records, seconds, "record", False,
                      note="one command's records, wait for acks, next (linger 2 ms)")
