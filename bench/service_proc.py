"""A service (ours or the peer) in a process of its own, so the load generator never shares its
event loop or its GIL. Started by argv, ready when its command queue has a consumer, stopped by
SIGTERM to its own PID (SIGKILL only if it does not leave within the grace period)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import aio_pika
from aiormq.exceptions import ChannelNotFoundEntity

from bench.config import Endpoints, Names

VENV_BIN = Path(sys.executable).parent


def service_env(ep: Endpoints, names: Names, src: Path | None = None) -> dict[str, str]:
    """The environment of one service process: its own names, WARNING logs (one INFO line per
    message would measure the logger); `src` runs another source tree (e.g. a snapshot of HEAD)."""
    env = dict(os.environ)
    env.update({"LUNA_PREFIX": names.prefix, "LUNA_MONGO__DATABASE": names.database,
                "LUNA_MONGO__URL": ep.mongo_url, "LUNA_AMQP__URL": ep.amqp_url,
                "LUNA_KAFKA__BOOTSTRAP": ep.kafka_bootstrap, "LUNA_LOG__LEVEL": "WARNING",
                "LUNA_HTTP__PORT": "0",
                "PYTHONUNBUFFERED": "1"})
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def luna_admin_argv(*args: str) -> list[str]:
    """`luna-admin run` through this interpreter (the console script is a Python file)."""
    return [sys.executable, str(VENV_BIN / "luna-admin"), "run", *args]


class ServiceProcess:
    """One child process; its stdout/stderr go to a log file (shown when it fails)."""

    def __init__(self, label: str, argv: Sequence[str], env: dict[str, str], ready_queue: str) -> None:
        self.label = label
        self._argv = list(argv)
        self._env = env
        self._ready_queue = ready_queue
        self.log_path = Path(tempfile.mkstemp(prefix=f"bench-{label}-", suffix=".log")[1])
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def start(self, amqp_url: str, timeout_s: float = 90.0) -> None:
        with self.log_path.open("wb") as log:
            self._proc = await asyncio.create_subprocess_exec(*self._argv, env=self._env, stdout=log,
                                                              stderr=log, stdin=asyncio.subprocess.DEVNULL)
        await self._wait_ready(amqp_url, timeout_s)

    async def _wait_ready(self, amqp_url: str, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        conn = await aio_pika.connect(amqp_url)
        try:
            while True:
                assert self._proc is not None
                if self._proc.returncode is not None:
                    raise RuntimeError(f"{self.label} exited with {self._proc.returncode}:\n"
                                       f"{self.log_tail()}")
                if await _consumers(conn, self._ready_queue) > 0:
                    return
                if loop.time() > deadline:
                    raise TimeoutError(f"{self.label} not consuming {self._ready_queue} after "
                                       f"{timeout_s} s:\n{self.log_tail()}")
                await asyncio.sleep(0.2)  # polling interval, under the deadline above
        finally:
            await conn.close()

    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def rss_kib(self) -> int:
        """VmRSS of the process, from /proc (kB as the kernel reports them)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for pid {self.pid}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (from /proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def wait(self, timeout_s: float) -> int:
        """Wait for the process to exit by itself (a sink that stops after N messages)."""
        assert self._proc is not None
        return await asyncio.wait_for(self._proc.wait(), timeout_s)

    async def stop(self, grace_s: float = 60.0) -> int:
        """SIGTERM, wait for a clean exit (the service drains its outbox), SIGKILL as a last resort."""
        if self._proc is None:
            return 0
        if self._proc.returncode is not None:
            return self._proc.returncode
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._proc.pid, signal.SIGTERM)
        try:
            return await asyncio.wait_for(self._proc.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._proc.pid, signal.SIGKILL)
            return await self._proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def _consumers(conn: aio_pika.abc.AbstractConnection, queue: str) -> int:
    """Consumers on a queue; 0 while it does not exist yet (a failed passive declare closes the channel)."""
    channel = await conn.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        result = declared.declaration_result
        return int(result.consumer_count or 0) if result else 0
    except ChannelNotFoundEntity:
        return 0
    finally:
        with contextlib.suppress(Exception):
            await channel.close()
