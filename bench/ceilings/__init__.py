"""Stage ceilings: what each server and client library can do alone with the same message bodies
and documents, so the pipeline's throughput can be read as a fraction of the slowest stage."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Ceiling:
    """One stage's best rate, in commands per second (each command's worth of messages or
    documents), and in that stage's own unit (messages, records, write sets)."""

    stage: str
    commands: int
    seconds: float
    commands_per_s: float
    units_per_s: float
    unit: str
    official: bool  # one of the three stage ceilings the 50% target is measured against
    note: str = ""
    loadavg_1m_at_end: float = 0.0  # the machine's 1-minute load: above ~2.5 something else ran too

    @classmethod
    def of(cls, stage: str, commands: int, units: int, seconds: float, unit: str, official: bool,
           note: str = "") -> Ceiling:
        seconds = max(seconds, 1e-9)
        return cls(stage, commands, round(seconds, 3), round(commands / seconds, 1),
                   round(units / seconds, 1), unit, official, note, round(os.getloadavg()[0], 2))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
