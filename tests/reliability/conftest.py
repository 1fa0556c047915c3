"""Real service processes for the reliability tests: started with the test's settings as
environment, stopped by PID (SIGTERM, or SIGKILL when a test says so)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from service.settings import Settings

POLL_S = 0.05


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNA_")}
    env.update({
        "LUNA_PREFIX": settings.prefix,
        "LUNA_MONGO__URL": settings.mongo.url.get_secret_value(),
        "LUNA_MONGO__DATABASE": settings.mongo.database,
        "LUNA_AMQP__URL": settings.amqp.url.get_secret_value(),
        "LUNA_KAFKA__BOOTSTRAP": settings.kafka.bootstrap,
        "LUNA_LOG__LEVEL": "WARNING",
        "LUNA_HTTP__PORT": "0",  # several service processes at once
        "LUNA_AMQP__RETRY_DELAYS_MS": "[200, 500, 1000, 2000]",
        **extra,
    })
    return env


class ServiceProcess:
    """One `luna-admin run` process."""

    def __init__(self, settings: Settings, roles: str, log: Path, **env: str) -> None:
        self.settings = settings
        self._log = log.open("ab")
        self._started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "run", "--roles", roles],
            env=service_env(settings, **env), stdout=self._log, stderr=subprocess.STDOUT)

    def age_s(self) -> float:
        return time.monotonic() - self._started

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def wait_exit(self, timeout_s: float = 60.0) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.proc.poll() is None:
            if loop.time() > deadline:
                raise TimeoutError(f"pid {self.proc.pid} still running after {timeout_s} s")
            await asyncio.sleep(POLL_S)  # polling the child's exit, under a deadline
        self._log.close()
        return self.proc.returncode

    def stop_now(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self._log.closed:
            self._log.close()


async def _declared(settings: Settings, queue: str) -> tuple[int, int]:
    """(consumers, messages ready) of a queue; (0, 0) when it does not exist."""
    conn = await aio_pika.connect(settings.amqp.url.get_secret_value())
    async with conn:
        channel = await conn.channel()
        try:
            q = await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return 0, 0
        return int(q.declaration_result.consumer_count or 0), int(q.declaration_result.message_count or 0)


async def consumers_on(settings: Settings, queue: str) -> int:
    return (await _declared(settings, queue))[0]


async def queue_depth(settings: Settings, queue: str) -> int:
    return (await _declared(settings, queue))[1]


@pytest.fixture
def processes(settings: Settings, tmp_path: Path) -> Iterator[Any]:
    """`spawn(roles, **env)` starts a service process; all are killed at the end of the test."""
    started: list[ServiceProcess] = []

    def spawn(roles: str = "consume,relay", **env: str) -> ServiceProcess:
        p = ServiceProcess(settings, roles, tmp_path / f"service-{len(started)}.log", **env)
        started.append(p)
        return p

    yield spawn
    for p in started:
        p.stop_now()


@pytest.fixture
async def clean_db(settings: Settings) -> AsyncIterator[Any]:
    """This test's database (the processes write to it), dropped afterwards."""
    from storage.mongo import connect

    client = connect(settings.mongo.url.get_secret_value())
    yield client[settings.mongo.database]
    await client.drop_database(settings.mongo.database)
    await client.close()


@pytest.fixture
def consumer_count(settings: Settings) -> Any:
    """`await consumer_count(queue)`: how many consumers a queue has now."""
    return lambda queue: consumers_on(settings, queue)


__all__ = ["ServiceProcess", "signal"]
