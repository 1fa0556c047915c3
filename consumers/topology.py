"""Declares the RabbitMQ side of `contracts.topology.Topology`; idempotent.

- Command queues are quorum queues with an explicit `x-delivery-limit` (RabbitMQ 3.x has no
  default) and at-least-once dead-lettering: a message whose consumer keeps dying mid-way ends in
  the dead-letter queue instead of looping.
- Commands whose type matches no binding go through the alternate exchange to the `unrouted`
  queue, where they get 12021 like any other unknown type.
- Retry level n is a fanout exchange and a queue with a TTL; expired messages are dead-lettered
  back into the commands exchange with their original routing key.
"""

from __future__ import annotations

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from pamqp.common import FieldTable

from contracts.topology import AREAS, Topology


def command_queue_arguments(topo: Topology, delivery_limit: int) -> FieldTable:
    return {"x-queue-type": "quorum", "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": topo.dead_letter_exchange,
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


async def declare(channel: AbstractChannel, topo: Topology, delivery_limit: int,
                  retry_delays_ms: list[int], shards: int = 0) -> tuple[list[AbstractQueue], AbstractQueue]:
    """Declare exchanges and queues; return the command queues and the dead-letter queue.

    `shards` > 0 replaces the per-area queues by that many single-active-consumer queues behind a
    consistent-hash exchange (bound to the commands exchange, so publishers change nothing)."""
    quorum: FieldTable = {"x-queue-type": "quorum"}
    unrouted_x = await channel.declare_exchange(topo.unrouted_exchange, ExchangeType.FANOUT, durable=True)
    commands_x = await channel.declare_exchange(
        topo.commands_exchange, ExchangeType.TOPIC, durable=True,
        arguments={"alternate-exchange": topo.unrouted_exchange})
    dead_x = await channel.declare_exchange(topo.dead_letter_exchange, ExchangeType.FANOUT, durable=True)
    dlq = await channel.declare_queue(topo.dead_letter_queue, durable=True, arguments=quorum)
    await dlq.bind(dead_x)
    await channel.declare_queue(topo.parking_queue, durable=True, arguments=quorum)
    for attempt, delay_ms in enumerate(retry_delays_ms, start=1):
        retry_x = await channel.declare_exchange(topo.retry_exchange(attempt), ExchangeType.FANOUT,
                                                 durable=True)
        retry_q = await channel.declare_queue(topo.retry_queue(attempt), durable=True, arguments={
            "x-message-ttl": delay_ms, "x-dead-letter-exchange": topo.commands_exchange})
        await retry_q.bind(retry_x)
    args = command_queue_arguments(topo, delivery_limit)
    await channel.declare_queue(topo.task_parts_queue, durable=True, arguments=args)
    if shards > 0:
        return await _shards(channel, topo, commands_x, args, shards), dlq
    queues = []
    for area, patterns in AREAS.items():
        queue = await channel.declare_queue(topo.queue(area), durable=True, arguments=args)
        for pattern in patterns:
            await queue.bind(commands_x, routing_key=pattern)
        queues.append(queue)
    unrouted = await channel.declare_queue(topo.unrouted_queue, durable=True, arguments=args)
    await unrouted.bind(unrouted_x)
    queues.append(unrouted)
    return queues, dlq


async def _shards(channel: AbstractChannel, topo: Topology, commands_x: AbstractExchange, args: FieldTable,
                  shards: int) -> list[AbstractQueue]:
    """N queues, each with one active consumer at a time: N workers share the load, and one
    account's commands (same `account_id` header, same shard) are applied in publish order.
    Commands without the header all hash alike, onto one shard."""
    hash_x = await channel.declare_exchange(topo.hash_exchange, "x-consistent-hash", durable=True,
                                            arguments={"hash-header": "account_id"})
    await hash_x.bind(commands_x, routing_key="#")
    queues = []
    for i in range(shards):
        queue = await channel.declare_queue(topo.shard_queue(i), durable=True,
                                            arguments={**args, "x-single-active-consumer": True})
        await queue.bind(hash_x, routing_key="1")  # the weight of this queue on the hash ring
        queues.append(queue)
    return queues
