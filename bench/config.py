"""Where the servers are (the service's own settings, so `LUNA_...` variables apply) and the
per-run names that keep a bench run off every other run's queues, topics and database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from contracts.topology import Topology
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Endpoints:
    """The three servers, as the service would reach them."""

    amqp_url: str
    mongo_url: str
    kafka_bootstrap: str

    @classmethod
    def from_settings(cls) -> Endpoints:
        s = Settings()
        return cls(s.amqp.url.get_secret_value(), s.mongo.url.get_secret_value(), s.kafka.bootstrap)


@dataclass(frozen=True)
class Names:
    """One isolated set of names: `bench-<tag>-<role>` on the brokers, `bench_<tag>_<role>` in MongoDB."""

    prefix: str
    database: str

    @classmethod
    def fresh(cls, role: str, tag: str | None = None) -> Names:
        tag = tag or uuid.uuid4().hex[:8]
        return cls(prefix=f"bench-{tag}-{role}", database=f"bench_{tag}_{role}")

    @property
    def topology(self) -> Topology:
        return Topology(self.prefix)
