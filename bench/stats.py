"""Latency samples into percentiles, throughput into one figure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values; 0.0 when there are none."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


@dataclass
class LatencySummary:
    """Milliseconds."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, seconds: list[float]) -> LatencySummary:
        ms = sorted(s * 1000 for s in seconds)
        mean = sum(ms) / len(ms) if ms else 0.0
        p50, p95, p99 = (round(percentile(ms, q), 2) for q in (50, 95, 99))
        return cls(len(ms), p50, p95, p99, round(ms[-1] if ms else 0.0, 2), round(mean, 2))


@dataclass
class RunResult:
    """One measured load run against a service (ours or the peer)."""

    label: str
    mode: str  # "closed(inflight=N)" or "open(rate=R/s)"
    mix: dict[str, float]
    sent: int
    completed: int
    errors: int
    seconds: float
    throughput: float  # completed commands per second, first publish -> last result
    offered_rate: float  # open loop: publishes per second the generator achieved (0 in closed loop)
    latency: LatencySummary
    by_type: dict[str, LatencySummary] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    max_schedule_lag_ms: float = 0.0  # open loop: how far the generator fell behind its schedule
    service_cpu_ms_per_cmd: float = 0.0  # CPU time of the service process (all threads) per command
    service_cpu_util: float = 0.0  # service CPU seconds per wall second (1.0 = one core busy)
    loadavg_1m_at_end: float = 0.0  # the machine's 1-minute load: above ~2.5 something else ran too

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
