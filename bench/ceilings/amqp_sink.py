"""The consuming half of the AMQP ceiling, in its own process like the service's consumer:
`python -m bench.ceilings.amqp_sink URL QUEUE COUNT PREFETCH` consumes COUNT messages, acks each
with no processing, prints `{"first": t, "last": t}` (wall-clock seconds) and exits."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aio_pika


async def sink(url: str, queue_name: str, count: int, prefetch: int) -> dict[str, float]:
    conn = await aio_pika.connect(url)
    try:
        channel = await conn.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(queue_name, ensure=False)
        first, seen = 0.0, 0
        # The same shape as consumers.amqp.CommandConsumer.consume: iterator, one ack per message.
        async with queue.iterator() as messages:
            async for message in messages:
                if seen == 0:
                    first = time.time()
                await message.ack()
                seen += 1
                if seen >= count:
                    break
        return {"first": first, "last": time.time()}
    finally:
        await conn.close()


def main() -> None:
    url, queue, count, prefetch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(sink(url, queue, count, prefetch))), flush=True)


if __name__ == "__main__":
    main()
