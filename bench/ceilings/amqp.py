"""AMQP ceiling: the same command bodies through a topic exchange into a quorum queue declared
like the service's command queues, published here with confirms (many in flight) and consumed by
a sink process that acks each message without processing it. Rate = N / (last ack - first publish).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence

import aio_pika
from aio_pika import ExchangeType
from pamqp.common import FieldTable

from bench.ceilings import Ceiling
from bench.config import ROOT, Endpoints, Names
from bench.service_proc import ServiceProcess
from bench.workload import Command

# As consumers.topology.command_queue_arguments, minus dead-lettering (nothing fails here).
QUEUE_ARGS: FieldTable = {"x-queue-type": "quorum", "x-delivery-limit": 10, "x-overflow": "reject-publish"}


async def _publish_all(exchange: aio_pika.abc.AbstractExchange, commands: Sequence[Command],
                       in_flight: int) -> float:
    """Publish everything, at most `in_flight` unconfirmed; return the wall time of the first publish."""
    window = asyncio.Semaphore(in_flight)

    async def one(cmd: Command) -> None:
        try:
            await exchange.publish(
                aio_pika.Message(cmd.body, content_type="application/json", message_id=cmd.command_id,
                                 type=cmd.type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                 headers={"account_id": cmd.account_id} if cmd.account_id else None),
                routing_key=cmd.type)
        finally:
            window.release()

    first = time.time()
    tasks = []
    for cmd in commands:
        await window.acquire()
        tasks.append(asyncio.create_task(one(cmd)))
    await asyncio.gather(*tasks)
    return first


async def measure(ep: Endpoints, commands: Sequence[Command], prefetch: int = 100,
                  in_flight: int = 500) -> Ceiling:
    names = Names.fresh("ceil-amqp")
    exchange_name, queue_name = names.topology.commands_exchange, names.topology.queue("accounts")
    conn = await aio_pika.connect(ep.amqp_url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(exchange_name, ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(queue_name, durable=True, arguments=QUEUE_ARGS)
        await queue.bind(exchange, routing_key="#")
        sink = ServiceProcess("amqp-sink", [sys.executable, "-m", "bench.ceilings.amqp_sink", ep.amqp_url,
                                            queue_name, str(len(commands)), str(prefetch)],
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), ready_queue=queue_name)
        await sink.start(ep.amqp_url)
        try:
            first = await _publish_all(exchange, commands, in_flight)
            published = time.time()
            await sink.wait(timeout_s=120)
        finally:
            await sink.stop()
            await queue.delete(if_unused=False, if_empty=False)
            await exchange.delete()
        done = json.loads(sink.log_tail(1))
    finally:
        await conn.close()
    n = len(commands)
    return Ceiling.of("amqp publish(confirms)+consume(ack)", n, n, done["last"] - first, "msg", True,
                      note=f"publish alone {n / max(published - first, 1e-9):.0f} msg/s; "
                           f"{in_flight} unconfirmed in flight, prefetch {prefetch}, quorum queue, "
                           f"consumer in its own process")
