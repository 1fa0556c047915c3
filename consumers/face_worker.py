"""Face detection and descriptor extraction off the event loop, in worker processes.

dlib's Python calls hold the GIL for their whole duration (measured: while a thread computes ten
descriptors, the loop thread gets to run about ten times in total), so `asyncio.to_thread` would
still freeze the consumer for ~0.1 s per descriptor. A process pool keeps the loop free; each
worker loads the models once, at its start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeVar

from consumers import detect, dlib_models
from consumers.descriptors import Descriptor
from consumers.extractor import get_extractor
from consumers.samples import Sample
from contracts.errors import ErrorCode, PermanentError, TransientError

T = TypeVar("T")
PR_SET_PDEATHSIG = 1


class FaceEngine(Protocol):
    """What face handlers need: photo to sample, sample to descriptor of a given version."""

    async def sample(self, photo: bytes) -> Sample: ...
    async def descriptor(self, version: str, sample: Sample) -> Descriptor: ...


class FaceWorker:
    """A `FaceEngine` backed by `workers` processes; use it as an async context manager.

    Entering starts the processes and waits until the models are loaded, so a missing model file
    fails the service start rather than the first message. A worker that dies (out of memory, a
    crash inside dlib) turns the call into a `TransientError` and the pool is rebuilt, so the
    message is retried within the consumer's bounded retries.
    """

    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def __aenter__(self) -> FaceWorker:
        self._pool = self._new_pool()
        await self._run(dlib_models.warm)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def sample(self, photo: bytes) -> Sample:
        """See `consumers.detect.sample_from_photo`."""
        return await self._run(detect.sample_from_photo, photo)

    async def descriptor(self, version: str, sample: Sample) -> Descriptor:
        """The descriptor of `sample` by extractor `version` (16011 when unknown)."""
        get_extractor(version)  # unknown versions fail here, without a round trip
        return await self._run(_descriptor, version, sample)

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent runs threads (asyncio, drivers) that fork would copy mid-state.
        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(os.getpid(),))

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        pool = self._pool
        if pool is None:
            raise RuntimeError("FaceWorker used outside `async with`")
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(pool, _call, fn, *args)
        except BrokenProcessPool as exc:
            if self._pool is pool:  # the first caller to notice replaces it
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            raise TransientError(f"face worker process died: {exc}", ErrorCode.INTERNAL) from exc
        if isinstance(outcome, _Failed):
            raise outcome.error()
        result: T = outcome
        return result


@dataclass(frozen=True)
class _Failed:
    """An error raised in a worker, carried back by value: our exceptions take constructor arguments
    that pickle's default reconstruction would get wrong."""

    code: int
    detail: str
    transient: bool

    def error(self) -> PermanentError | TransientError:
        code = ErrorCode(self.code)
        return TransientError(self.detail, code) if self.transient else PermanentError(code, self.detail)


def _call(fn: Callable[..., T], *args: Any) -> T | _Failed:
    """Runs in the worker process."""
    try:
        return fn(*args)
    except TransientError as exc:
        return _Failed(int(exc.code), exc.detail, transient=True)
    except PermanentError as exc:
        return _Failed(int(exc.code), exc.detail, transient=False)


def _descriptor(version: str, sample: Sample) -> Descriptor:
    return get_extractor(version).descriptor(sample)


def _init_worker(parent_pid: int) -> None:
    """Tie the worker's life to the service process, then load the models. Without this, a
    SIGKILLed service (OOM killer, `kill -9`, a crashed pod sidecar) leaves its workers running
    as orphans, each holding the models in memory."""
    _die_with_parent(parent_pid)
    dlib_models.warm()


def _die_with_parent(parent_pid: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # Linux: the kernel kills us when it dies
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    """Portable fallback where prctl is missing: notice re-parenting within a second."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)
