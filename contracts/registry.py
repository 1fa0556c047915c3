"""The command catalogue: for each type, its payload model per version, upgrades and result model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from contracts import accounts

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class CommandSpec:
    """One command type. `upgrades[v]` turns a version-v payload into a version-(v+1) payload."""

    name: str
    payload: type[BaseModel]
    result: type[BaseModel]
    version: int = 1
    upgrades: Mapping[int, Upgrade] = field(default_factory=dict)

    @property
    def versions(self) -> range:
        return range(self.version - len(self.upgrades), self.version + 1)

    def upgrade(self, version: int, raw: dict[str, Any]) -> dict[str, Any]:
        for v in range(version, self.version):
            raw = self.upgrades[v](raw)
        return raw


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in [
        CommandSpec("account.create", accounts.AccountCreate, accounts.AccountInfo),
        CommandSpec("account.get", accounts.AccountGet, accounts.Account),
    ]
}
