"""Search, statistics and the service's own commands."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

from consumers.handlers.guards import existing_account
from consumers.ports import Context, Deps, Handled
from contracts import service as c
from contracts.accounts import AccountStats

_HIDDEN = {"password_hash", "secret_sha256", "email_lower", "created_by", "deleted_by", "deleting",
           "list_marks"}


def _public(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document as a search hit: its id under the wire name, no secrets or internals."""
    out = {k: v for k, v in doc.items() if k not in _HIDDEN and k != "_id"}
    out[f"{kind}_id"] = doc["_id"]
    if kind == "account":
        out["status"] = bool(out.pop("blocked", False))
    out.pop("descriptors", None)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in out.items()}


async def search(cmd: c.Search, ctx: Context, deps: Deps) -> Handled:
    """A uuid is tried as list, account, token (answered with its owner account), face, person;
    anything else as an email, case-insensitively. No hit: `{type: null, data: null}`."""
    q = cmd.q.strip()
    try:
        object_id = str(uuid.UUID(q))
    except ValueError:
        account = await deps.lookup.account_by_email(q)
        hit = None if account is None else ("account", account)
    else:
        hit = await deps.lookup.by_id(object_id)
        if hit is not None and hit[0] == "token":
            owner = await deps.lookup.by_id(str(hit[1]["account_id"]))
            data = {"token": {"token_id": object_id, "token_data": hit[1]["token_data"]},
                    "account": _public("account", owner[1]) if owner else None}
            return Handled(result=c.SearchResult(type="token", data=data))
    if hit is None:
        return Handled(result=c.SearchResult(type=None, data=None))
    return Handled(result=c.SearchResult(type=hit[0], data=_public(*hit)))


async def get_stats(cmd: c.StatsGet, ctx: Context, deps: Deps) -> Handled:
    """Service totals, or one account's exact `account_stats`."""
    if cmd.account_id is not None:
        await existing_account(deps, cmd.account_id)
        stats = AccountStats(**await deps.accounts.counts(cmd.account_id))
        return Handled(result=c.StatsResult(stats), key=cmd.account_id)
    return Handled(result=c.StatsResult(c.ServiceTotals.model_validate(await deps.lookup.totals())))


async def series(cmd: c.StatsSeries, ctx: Context, deps: Deps) -> Handled:
    """Processed commands per bucket of `group_by`, by type and outcome; every bucket of the range
    is listed, empty ones too, so a chart needs no gap filling."""
    step = c.group_by_seconds(cmd.group_by)
    outcome = "error" if cmd.series == "errors" else None
    prefix = "task." if cmd.series == "tasks" else None
    docs = await deps.series.query(cmd.since, cmd.until, step, outcome, prefix)
    counts: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for doc in docs:
        index = int((doc["start"] - cmd.since).total_seconds() // step)
        if index >= 0:
            counts[index][(doc["type"], doc["outcome"])] += int(doc["count"])
    n = -(-int((cmd.until - cmd.since).total_seconds()) // step)
    buckets = [c.SeriesBucket(start=cmd.since + timedelta(seconds=i * step),
                              counts=[c.SeriesCount(type=t, outcome=o, count=k)
                                      for (t, o), k in sorted(counts[i].items())])
               for i in range(n)]
    return Handled(result=c.SeriesResult(series=cmd.series, group_by=cmd.group_by, buckets=buckets))


async def version(cmd: c.VersionGet, ctx: Context, deps: Deps) -> Handled:
    """`{"Version": {api, major, minor, patch}}` from the package version."""
    major, minor, patch = (int(p) for p in [*deps.info.version.split("."), "0", "0"][:3])
    info = c.VersionInfo(api=1, major=major, minor=minor, patch=patch)
    return Handled(result=c.VersionResult(Version=info))


async def config(cmd: c.ConfigGet, ctx: Context, deps: Deps) -> Handled:
    """The running settings with every secret removed."""
    return Handled(result=c.ConfigResult(deps.info.config))


async def grafana(cmd: c.GrafanaGet, ctx: Context, deps: Deps) -> Handled:
    """Where the dashboards are (they ship in deploy/)."""
    return Handled(result=c.GrafanaResult(grafana_url=deps.info.grafana_url))
