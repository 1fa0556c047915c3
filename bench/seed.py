"""Objects that must exist before a measured run.

Accounts go straight into MongoDB through the service's own repository (same document shape as an
account.create writes), because creating them through the bus costs an argon2 hash each (~0.2 s
here) and would dominate the set-up. Lists and persons (for list.attach) go through the bus with
ids chosen here, once their handlers exist: they are cheap, and their storage shape is not ours.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from pymongo import AsyncMongoClient

from bench.config import Endpoints, Names
from bench.loadgen import Publisher, ResultReader, drive
from bench.workload import NEEDS_LISTS, PASSWORD, Command, SeedData
from service.client import envelope
from storage.accounts import AccountRecord, AccountRepository


async def seed_accounts(ep: Endpoints, names: Names, count: int) -> list[str]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ep.mongo_url, tz_aware=True)
    repo = AccountRepository(client[names.database])
    password_hash = PasswordHasher().hash(PASSWORD)
    ids = []
    try:
        for i in range(count):
            account_id = uuid.uuid4()
            await repo.insert(AccountRecord(
                account_id=account_id, email=f"seed-{names.prefix}-{i}@example.com",
                organization_name="Bench Seed", password_hash=password_hash, blocked=False,
                created_by=uuid.uuid4(), create_time=datetime.now(UTC)))
            ids.append(str(account_id))
    finally:
        await client.close()
    return ids


def _cmd(type_: str, payload: dict[str, Any]) -> Command:
    cmd = envelope(type_, payload)
    return Command(cmd["command_id"], type_, json.dumps(cmd).encode(), payload.get("account_id"))


async def seed_lists(publisher: Publisher, reader: ResultReader, seed: SeedData,
                     lists: int = 10, persons: int = 100) -> None:
    """Persons lists and persons for list.attach, made through the service itself: each list has
    its own owner (the first `lists` seeded accounts) with its share of the persons, since a person
    joins only its own account's lists."""
    seed.spread(seed.account_ids[:lists], [str(uuid.uuid4()) for _ in range(lists)],
                [str(uuid.uuid4()) for _ in range(persons)])
    commands = [_cmd("list.create", {"account_id": owner, "type": "persons", "list_id": list_id})
                for list_id, owner in seed.list_owner.items()]
    commands += [_cmd("person.create", {"account_id": owner, "person_id": person_id})
                 for owner, people in seed.persons_of.items() for person_id in people]
    res = await drive(publisher, reader, commands, label="seed", mix={}, idle_timeout_s=30)
    if res.completed != len(commands) or res.errors:
        raise RuntimeError(f"seeding lists/persons failed: {res.completed}/{len(commands)} done, "
                           f"{res.error_samples}")


async def seed(ep: Endpoints, names: Names, mix: dict[str, float], publisher: Publisher,
               reader: ResultReader, accounts: int) -> SeedData:
    data = SeedData(account_ids=await seed_accounts(ep, names, accounts))
    if NEEDS_LISTS & set(mix):
        await seed_lists(publisher, reader, data)
    return data
