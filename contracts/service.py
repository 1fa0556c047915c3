"""Search, statistics and the commands about the service itself."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, RootModel, model_validator

from contracts.accounts import AccountStats
from contracts.base import Inbound, Outbound, UtcDatetime, coded
from contracts.errors import ErrorCode

SearchType = Literal["list", "account", "token", "face", "person"]
_GROUP_BY = re.compile(r"^([1-9][0-9]{0,3})([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_BUCKETS = 10_000


class Search(Inbound):
    """`search`: a uuid is tried as list, account, token, face, person; anything else as an email."""

    q: str = Field(min_length=1, max_length=254)


class SearchResult(Outbound):
    """What `search` found: `{type: null, data: null}` when nothing."""

    type: SearchType | None
    data: dict[str, Any] | None


class StatsGet(Inbound):
    """`stats.get`: service totals, or one account's `account_stats`."""

    account_id: UUID | None = None


class ServiceTotals(Outbound):
    """Totals over the whole store."""

    accounts: int
    blocked_accounts: int
    persons: int
    lists: int
    faces: int
    descriptors: dict[str, int]
    tokens: int
    tasks: dict[str, int]


class StatsResult(RootModel[ServiceTotals | AccountStats]):
    """The result of `stats.get`."""


def group_by_seconds(group_by: str) -> int:
    match = _GROUP_BY.match(group_by)
    if match is None:
        raise ValueError("group_by must look like 30s, 1m, 1h or 1d")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


class StatsSeries(Inbound):
    """`stats.series`: processed commands in time buckets (the original's realtime statistics)."""

    series: Literal["commands", "errors", "tasks"]
    since: UtcDatetime
    until: UtcDatetime
    group_by: str = Field(default="1m", pattern=_GROUP_BY.pattern)

    @model_validator(mode="after")
    def _range(self) -> StatsSeries:
        if self.until <= self.since:
            raise coded(ErrorCode.INVALID_PAYLOAD, "until must be after since")
        buckets = (self.until - self.since) / timedelta(seconds=group_by_seconds(self.group_by))
        if buckets > MAX_BUCKETS:
            raise coded(ErrorCode.INVALID_PAYLOAD, f"at most {MAX_BUCKETS} buckets; widen group_by")
        return self


class SeriesCount(Outbound):
    """How many commands of one type ended with one outcome in a bucket."""

    type: str
    outcome: str
    count: int


class SeriesBucket(Outbound):
    """One time bucket; `start` is inclusive."""

    start: datetime
    counts: list[SeriesCount]


class SeriesResult(Outbound):
    """The result of `stats.series`."""

    series: str
    group_by: str
    buckets: list[SeriesBucket]


class VersionGet(Inbound):
    """`version.get`."""


class VersionInfo(Outbound):
    """The package version split into its parts."""

    api: int
    major: int
    minor: int
    patch: int


class VersionResult(Outbound):
    """`{"Version": {...}}`, as the original answered."""

    Version: VersionInfo


class ConfigGet(Inbound):
    """`config.get`: the running settings, secrets removed."""


class ConfigResult(RootModel[dict[str, Any]]):
    """The running settings."""


class GrafanaGet(Inbound):
    """`grafana.get`: where the dashboards are."""


class GrafanaResult(Outbound):
    """The result of `grafana.get`."""

    grafana_url: str
