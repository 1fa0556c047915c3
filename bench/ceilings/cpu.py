"""CPU ceilings of the handler itself: argon2id hashing (account.create) with the service's
parameters (`LUNA_PASSWORDS__*`, as `consumers.passwords.Argon2Hasher`), and decode+validate.

Not a server stage, but under one-at-a-time consumption a create can never go faster than one hash,
so it bounds any mix with creates in it."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

from argon2 import PasswordHasher

from bench.ceilings import Ceiling
from bench.workload import PASSWORD, Command
from contracts.decode import decode
from service.settings import Settings


def argon2(repeat: int = 10) -> tuple[Ceiling, float]:
    """The ceiling, and the median seconds per hash."""
    hasher = PasswordHasher(**Settings().passwords.argon2())
    hasher.hash(PASSWORD)  # first call allocates
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        hasher.hash(PASSWORD)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return Ceiling.of("argon2id hash (CPU, one at a time)", repeat, repeat, median * repeat, "hash", False,
                      note=f"t={hasher.time_cost}, m={hasher.memory_cost} KiB, p={hasher.parallelism}; "
                           f"median {median * 1000:.0f} ms, best {min(times) * 1000:.0f} ms"), median


def decode_validate(commands: Sequence[Command]) -> Ceiling:
    start = time.perf_counter()
    for cmd in commands:
        decode(cmd.body, cmd.command_id, cmd.type)
    seconds = time.perf_counter() - start
    return Ceiling.of("decode+validate (CPU)", len(commands), len(commands), seconds, "msg", False,
                      note="contracts.decode.decode: json + pydantic envelope + payload model")
