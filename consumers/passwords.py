"""Password hashing with argon2id (argon2-cffi), off the event loop, in a small pool of
low-priority threads.

Why a pool of its own: each hash takes `memory_kib` (64 MiB by default) and about a quarter of a
second of CPU. On the default executor up to 16 concurrent `account.create`s would hash at once:
a gigabyte of memory and every core busy. The pool bounds that to `workers` hashes at a time.

Why low priority: a hash keeps the cores busy for 100 ms or more, and every command in flight
behind it waits that long. The pool's threads raise their nice value (`nice`; Linux threads have
their own, and argon2's lane threads inherit it), so the kernel runs this process's event loop
before them and a create takes the spare CPU. (Nice ranks threads within one scheduling group:
other services on the machine gain only where they share it, as in one container.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _lower_priority(nice: int) -> None:
    if not sys.platform.startswith("linux"):  # elsewhere the id would name a process, not this thread
        return
    with contextlib.suppress(OSError):  # not allowed: run at the normal priority
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, as a container's cpuset sets it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


# A forked child has none of the parent's threads: it builds its own pools.
os.register_at_fork(after_in_child=_pools.clear)


def hashing_pool(workers: int, nice: int) -> ThreadPoolExecutor:
    """One pool per process and setting (services in one test process share it)."""
    with _pools_lock:
        pool = _pools.get((workers, nice))
        if pool is None:
            pool = _pools[(workers, nice)] = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="argon2", initializer=_lower_priority,
                initargs=(nice,))
        return pool


class Argon2Hasher:
    """argon2id; by default with the library's parameters (RFC 9106's low-memory choice: t=3,
    64 MiB, p=4). A hash carries its own parameters, so hashes made with other ones still verify."""

    def __init__(self, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4,
                 workers: int = 0, nice: int = 10) -> None:
        """The first three as argon2-cffi names them (`PasswordSettings.argon2()`)."""
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        self.pool = hashing_pool(workers or usable_cores(), nice)

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._hasher.hash, password)

    def verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except VerificationError:
            return False
