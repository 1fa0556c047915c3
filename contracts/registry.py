"""The command catalogue: for each type, its payload model per version, upgrades and result model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from contracts import accounts as a
from contracts import dlq as d
from contracts import faces as f
from contracts import lists as li
from contracts import persons as p
from contracts import service as s
from contracts import tasks as t
from contracts import tokens as tk
from contracts.base import Empty

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class CommandSpec:
    """One command type. `upgrades[v]` turns a version-v payload into a version-(v+1) payload, so
    every version from the oldest upgradable one to `version` is accepted."""

    name: str
    payload: type[BaseModel]
    result: type[BaseModel]
    version: int = 1
    upgrades: Mapping[int, Upgrade] = field(default_factory=dict)

    @property
    def versions(self) -> range:
        return range(self.version - len(self.upgrades), self.version + 1)

    @property
    def area(self) -> str:
        return self.name.split(".", 1)[0]

    def upgrade(self, version: int, raw: dict[str, Any]) -> dict[str, Any]:
        for v in range(version, self.version):
            raw = self.upgrades[v](raw)
        return raw


_SPECS = [
    CommandSpec("account.create", a.AccountCreate, a.AccountInfo),
    CommandSpec("account.get", a.AccountGet, a.Account),
    CommandSpec("account.list", a.AccountList, a.AccountPage, version=2,
                upgrades={1: a.account_list_v1_to_v2}),
    CommandSpec("account.block", a.AccountBlock, a.AccountInfo),
    CommandSpec("account.unblock", a.AccountUnblock, a.AccountInfo),
    CommandSpec("account.update", a.AccountUpdate, a.AccountInfo),
    CommandSpec("account.delete", a.AccountDelete, a.AccountDeleted),
    CommandSpec("token.create", tk.TokenCreate, tk.TokenCreated),
    CommandSpec("token.list", tk.TokenList, tk.TokenPage),
    CommandSpec("token.get", tk.TokenGet, tk.AuthToken),
    CommandSpec("token.delete", tk.TokenDelete, Empty),
    CommandSpec("list.create", li.ListCreate, li.LunaList),
    CommandSpec("list.get", li.ListGet, li.LunaList),
    CommandSpec("list.list", li.ListList, li.ListPage),
    CommandSpec("list.update", li.ListUpdate, li.LunaList),
    CommandSpec("list.delete", li.ListDelete, Empty),
    CommandSpec("list.attach", li.ListAttach, li.LunaList),
    CommandSpec("list.detach", li.ListDetach, li.LunaList),
    CommandSpec("person.create", p.PersonCreate, p.LunaPerson),
    CommandSpec("person.get", p.PersonGet, p.LunaPerson),
    CommandSpec("person.list", p.PersonList, p.PersonPage),
    CommandSpec("person.update", p.PersonUpdate, p.LunaPerson),
    CommandSpec("person.delete", p.PersonDelete, Empty),
    CommandSpec("person.link_face", p.PersonLinkFace, p.LunaPerson),
    CommandSpec("person.unlink_face", p.PersonUnlinkFace, p.LunaPerson),
    CommandSpec("face.create", f.FaceCreate, f.Face),
    CommandSpec("face.get", f.FaceGet, f.Face),
    CommandSpec("face.delete", f.FaceDelete, Empty),
    CommandSpec("face.list", f.FaceList, f.FacePage),
    CommandSpec("search", s.Search, s.SearchResult),
    CommandSpec("stats.get", s.StatsGet, s.StatsResult),
    CommandSpec("stats.series", s.StatsSeries, s.SeriesResult),
    CommandSpec("version.get", s.VersionGet, s.VersionResult),
    CommandSpec("config.get", s.ConfigGet, s.ConfigResult),
    CommandSpec("grafana.get", s.GrafanaGet, s.GrafanaResult),
    CommandSpec("task.gc.start", t.TaskGcStart, t.Task),
    CommandSpec("task.reextract.start", t.TaskReextractStart, t.Task),
    CommandSpec("task.get", t.TaskGet, t.Task),
    CommandSpec("task.list", t.TaskList, t.TaskPage),
    CommandSpec("task.errors", t.TaskErrors, t.TaskErrorPage),
    CommandSpec("task.cancel", t.TaskCancel, t.Task),
    CommandSpec("dlq.list", d.DlqList, d.DlqPage),
    CommandSpec("dlq.replay", d.DlqReplay, d.DlqReplayed),
]

COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in _SPECS}
