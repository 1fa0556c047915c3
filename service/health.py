"""The HTTP port (default 127.0.0.1:9108; 0.0.0.0 in containers): `/metrics` (Prometheus text
format), `/healthz` (the process and its event loop answer) and `/readyz` (MongoDB, RabbitMQ and
Kafka answer, and every queue this process consumes has a consumer). `/readyz` answers 503 with
the failing checks named in its JSON body.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from aio_pika.abc import AbstractConnection
from aiohttp import web
from aiokafka import AIOKafkaClient
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.asynchronous.database import AsyncDatabase

from service.metrics import Metrics
from storage.mongo import Doc

CHECK_TIMEOUT_S = 2.0


@dataclass
class Readiness:
    """The checks behind `/readyz`; `check()` also sets the `luna_ready` gauge."""

    metrics: Metrics
    db: AsyncDatabase[Doc] | None = None
    conn: AbstractConnection | None = None
    consumed: list[str] = field(default_factory=list)
    kafka_bootstrap: str | None = None
    _kafka: AIOKafkaClient | None = None

    async def check(self) -> dict[str, object]:
        results = await asyncio.gather(self._mongo(), self._rabbitmq(), self._kafka_ok(),
                                       return_exceptions=True)
        report: dict[str, object] = {}
        for name, res in zip(("mongodb", "rabbitmq", "kafka"), results, strict=True):
            report[name] = True if res is True else f"{type(res).__name__}: {res}"[:300]
        ready = all(v is True for v in report.values())
        self.metrics.ready.set(1 if ready else 0)
        return {"ready": ready, "checks": report}

    async def _mongo(self) -> bool:
        if self.db is not None:
            await asyncio.wait_for(self.db.command("ping"), CHECK_TIMEOUT_S)
        return True

    async def _rabbitmq(self) -> bool:
        if self.conn is None:
            return True
        if self.conn.is_closed:
            raise ConnectionError("the AMQP connection is closed")

        async def consumers() -> list[str]:
            assert self.conn is not None
            async with await self.conn.channel() as channel:
                idle = []
                for name in self.consumed:
                    q = await channel.declare_queue(name, passive=True)
                    if not q.declaration_result.consumer_count:
                        idle.append(name)
                return idle

        idle = await asyncio.wait_for(consumers(), CHECK_TIMEOUT_S)
        if idle:
            raise LookupError(f"no consumer on {', '.join(idle)}")
        return True

    async def _kafka_ok(self) -> bool:
        if self.kafka_bootstrap is None:
            return True
        if self._kafka is None:
            self._kafka = AIOKafkaClient(bootstrap_servers=self.kafka_bootstrap,
                                         request_timeout_ms=int(CHECK_TIMEOUT_S * 1000))
            await asyncio.wait_for(self._kafka.bootstrap(), CHECK_TIMEOUT_S)
        await asyncio.wait_for(self._kafka.fetch_all_metadata(), CHECK_TIMEOUT_S)
        return True

    async def close(self) -> None:
        if self._kafka is not None:
            await self._kafka.close()


async def serve(metrics: Metrics, readiness: Readiness, host: str, port: int) -> web.AppRunner:
    """Start the HTTP server; the caller cleans the returned runner up. `port=0` picks a free one."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def readyz(_: web.Request) -> web.Response:
        report = await readiness.check()
        return web.Response(text=json.dumps(report), content_type="application/json",
                            status=200 if report["ready"] else 503)

    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port the server really listens on (for `port=0`)."""
    for addr in runner.addresses:
        return int(addr[1])
    raise RuntimeError("the HTTP server is not listening")
