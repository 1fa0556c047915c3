"""consumers.passwords: hashes run in a bounded pool of lower-priority threads and verify."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest

from consumers.passwords import Argon2Hasher

CHEAP = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="thread priorities are a Linux feature here")
async def test_hashing_threads_run_at_a_lower_priority() -> None:
    hasher = Argon2Hasher(**CHEAP, workers=1, nice=7)
    loop = asyncio.get_running_loop()
    mine = await asyncio.to_thread(_nice)
    theirs = await loop.run_in_executor(hasher.pool, _nice)
    assert theirs == min(19, mine + 7)
    assert _nice() == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())  # the loop's unchanged


async def test_at_most_workers_hashes_at_once_and_each_verifies(poll: Any) -> None:
    hasher = Argon2Hasher(**CHEAP, workers=2, nice=1)
    real = hasher._hasher
    running = 0
    most = 0
    gate = threading.Event()
    lock = threading.Lock()

    class Counted:
        def hash(self, password: str) -> str:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            gate.wait(5)
            try:
                return real.hash(password)
            finally:
                with lock:
                    running -= 1

    hasher._hasher = Counted()  # type: ignore[assignment]
    tasks = [asyncio.create_task(hasher.hash(f"password-{i}")) for i in range(6)]

    async def both_busy() -> bool:
        return running == 2

    assert await poll(both_busy, timeout_s=5)  # both workers inside a hash
    assert hasher.pool._work_queue.qsize() == 4  # the other four wait their turn
    gate.set()
    hashes = await asyncio.gather(*tasks)
    assert most == 2
    hasher._hasher = real
    assert all(hasher.verify(h, f"password-{i}") for i, h in enumerate(hashes))
    assert not hasher.verify(hashes[0], "password-1")
