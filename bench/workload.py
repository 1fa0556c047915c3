"""The mixed workload: which command types, in what proportion, with what payloads.

A mix names types the service may not handle yet (person.create, list.attach land later); those
are skipped with a notice, decided by `consumers.dispatch.HANDLERS`, so one command line keeps
working as handlers arrive.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service.client import envelope

PASSWORD = "correct-horse-battery"  # 8-32 characters, as the contract wants


@dataclass
class SeedData:
    """Objects that exist before the measured run, for commands that read or attach to them."""

    account_ids: list[str] = field(default_factory=list)
    list_ids: list[str] = field(default_factory=list)  # persons lists, when list.* handlers exist
    list_owner: dict[str, str] = field(default_factory=dict)  # list id -> its account
    persons_of: dict[str, list[str]] = field(default_factory=dict)  # account -> its persons

    def spread(self, owners: list[str], list_ids: list[str], person_ids: list[str]) -> None:
        """Give the lists and persons to the owners in turn (a person joins only its own
        account's lists, so each owner gets its share of both)."""
        for i, list_id in enumerate(list_ids):
            self.list_ids.append(list_id)
            self.list_owner[list_id] = owners[i % len(owners)]
        for i, person_id in enumerate(person_ids):
            self.persons_of.setdefault(owners[i % len(owners)], []).append(person_id)


@dataclass(frozen=True)
class Command:
    """One command ready to publish."""

    command_id: str
    type: str
    body: bytes
    account_id: str | None = None  # the publisher's `account_id` header: the account it is about


Payload = Callable[[int, random.Random, SeedData, str], dict[str, Any]]


def _account_create(i: int, rng: random.Random, seed: SeedData, tag: str) -> dict[str, Any]:
    return {"email": f"bench-{tag}-{i}@example.com", "password": PASSWORD,
            "organization_name": f"Bench Org {i % 97}"}


def _account_get(i: int, rng: random.Random, seed: SeedData, tag: str) -> dict[str, Any]:
    return {"account_id": rng.choice(seed.account_ids)}


def _person_create(i: int, rng: random.Random, seed: SeedData, tag: str) -> dict[str, Any]:
    return {"account_id": rng.choice(seed.account_ids), "user_data": f"bench person {i}"}


def _list_attach(i: int, rng: random.Random, seed: SeedData, tag: str) -> dict[str, Any]:
    list_id = rng.choice(seed.list_ids)
    return {"list_id": list_id, "person_ids": rng.sample(seed.persons_of[seed.list_owner[list_id]], 2)}


def header_account(payload: dict[str, Any], seed: SeedData) -> str | None:
    """The `account_id` header an upstream sets, as the AsyncAPI document asks: the payload's
    account, else the owner of the list it names."""
    account = payload.get("account_id")
    if account is None and "list_id" in payload:
        account = seed.list_owner.get(payload["list_id"])
    return str(account) if account else None


PAYLOADS: dict[str, Payload] = {
    "account.create": _account_create,
    "account.get": _account_get,
    "person.create": _person_create,
    "list.attach": _list_attach,
}
NEEDS_LISTS = {"list.attach"}  # types that need seeded lists and persons (made through the bus)


def parse_mix(text: str) -> dict[str, float]:
    """`account.create=0.2,account.get=0.8` -> normalised weights."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in PAYLOADS:
            raise ValueError(f"no payload generator for {name!r}; known: {', '.join(PAYLOADS)}")
        weights[name] = float(value or 1)
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"mix {text!r} has no positive weight")
    return {k: v / total for k, v in weights.items() if v > 0}


def supported(mix: dict[str, float], handlers: set[str]) -> tuple[dict[str, float], list[str]]:
    """The mix restricted to types the service handles (renormalised), and the skipped types."""
    kept = {k: v for k, v in mix.items() if k in handlers}
    skipped = [k for k in mix if k not in handlers]
    if not kept:
        raise ValueError(f"the service handles none of {list(mix)}")
    total = sum(kept.values())
    return {k: v / total for k, v in kept.items()}, skipped


class Workload:
    """Deterministic (seeded) stream of commands following a mix; `tag` keeps emails unique per run."""

    def __init__(self, mix: dict[str, float], seed: SeedData, tag: str, rng_seed: int = 9) -> None:
        self._types = list(mix)
        self._weights = [mix[t] for t in self._types]
        self._seed = seed
        self._tag = tag
        self._rng = random.Random(rng_seed)
        self._i = 0

    def next(self) -> Command:
        type_ = self._rng.choices(self._types, self._weights)[0]
        return self.make(type_)

    def make(self, type_: str) -> Command:
        self._i += 1
        payload = PAYLOADS[type_](self._i, self._rng, self._seed, self._tag)
        cmd = envelope(type_, payload, uuid.UUID(int=self._rng.getrandbits(128), version=4))
        header = header_account(payload, self._seed)
        return Command(cmd["command_id"], type_, json.dumps(cmd).encode(), header)

    def batch(self, n: int) -> list[Command]:
        return [self.next() for _ in range(n)]
