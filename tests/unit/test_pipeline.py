"""The effectively-once pipeline with in-memory fakes of our own storage interfaces."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest

from consumers.pipeline import Pipeline
from consumers.ports import Deps
from contracts.decode import decode
from storage.accounts import AccountRecord
from storage.errors import Duplicate
from storage.inbox import InboxRecord
from storage.outbox import OutboxEntry


class FakeAccounts:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, AccountRecord] = {}

    async def insert(self, rec: AccountRecord) -> None:
        taken = any(r.email.lower() == rec.email.lower() for r in self.rows.values())
        if rec.account_id in self.rows or taken:
            raise Duplicate(str(rec.account_id))
        self.rows[rec.account_id] = rec

    async def get(self, account_id: uuid.UUID) -> AccountRecord | None:
        return self.rows.get(account_id)

    async def find_by_email(self, email: str) -> AccountRecord | None:
        return next((r for r in self.rows.values() if r.email.lower() == email.lower()), None)

    async def counts(self, account_id: uuid.UUID) -> dict[str, int]:
        return dict.fromkeys(("person_count", "list_count", "descriptor_count", "token_count"), 0)


class FakeInbox:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, InboxRecord] = {}

    async def get(self, command_id: uuid.UUID) -> InboxRecord | None:
        return self.rows.get(command_id)

    async def record(self, rec: InboxRecord) -> None:
        self.rows.setdefault(rec.command_id, rec)


class FakeOutbox:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, OutboxEntry] = {}
        self.sends: list[uuid.UUID] = []

    async def add(self, entries: list[OutboxEntry]) -> None:
        for e in entries:
            if e.event_id not in self.rows:
                self.rows[e.event_id] = e
                self.sends.append(e.event_id)

    async def result_of(self, command_id: uuid.UUID) -> bytes | None:
        hits = [e.value for e in self.rows.values() if e.command_id == command_id and e.kind == "result"]
        return hits[0] if hits else None

    async def resend_result(self, command_id: uuid.UUID) -> int:
        hits = [e for e in self.rows.values() if e.command_id == command_id and e.kind == "result"]
        self.sends += [e.event_id for e in hits]
        return len(hits)


class FakeHasher:
    async def hash(self, password: str) -> str:
        return "hashed:" + password[::-1]

    def verify(self, hashed: str, password: str) -> bool:
        return hashed == "hashed:" + password[::-1]


@pytest.fixture
def parts() -> tuple[Pipeline, FakeAccounts, FakeInbox, FakeOutbox]:
    accounts, inbox, outbox = FakeAccounts(), FakeInbox(), FakeOutbox()
    deps = Deps(accounts=accounts, passwords=FakeHasher(), tokens=None, lookup=None, series=None,  # type: ignore[arg-type]
                images=None, service_key=b"k", info=None,  # type: ignore[arg-type]
                dead_letters=None, replayer=None,  # type: ignore[arg-type]
                lists=None, persons=None, faces=None, engine=None,  # type: ignore[arg-type]
                tasks=None, task_faces=None, parts=None)  # type: ignore[arg-type]
    return Pipeline(deps, inbox, outbox), accounts, inbox, outbox


def create(email: str = "a@b.c", command_id: str | None = None) -> Any:
    return decode(json.dumps({"command_id": command_id or str(uuid.uuid4()), "type": "account.create",
                              "issued_at": "2026-12-03T10:00:00Z",
                              "payload": {"email": email, "password": "12345678",
                                          "organization_name": "x"}}).encode())


async def test_duplicate_delivery_resends_the_same_result(parts: Any) -> None:
    pipeline, accounts, inbox, outbox = parts
    cmd = create()
    assert (await pipeline.handle(cmd)).status == "ok"
    assert (await pipeline.handle(cmd)).status == "duplicate"
    assert len(accounts.rows) == 1 and len(inbox.rows) == 1
    results = [e for e in outbox.rows.values() if e.kind == "result"]
    assert len(results) == 1
    assert outbox.sends.count(results[0].event_id) == 2


async def test_crash_before_inbox_record_still_ends_in_one_effect(parts: Any) -> None:
    pipeline, accounts, inbox, outbox = parts
    cmd = create()
    await pipeline.handle(cmd)
    inbox.rows.clear()  # as if the process died after the outbox write, before the inbox record
    outcome = await pipeline.handle(cmd)
    assert outcome.status == "ok"  # recognised its own account instead of reporting 40001
    assert len(accounts.rows) == 1
    assert len([e for e in outbox.rows.values() if e.kind == "result"]) == 1


async def test_business_error_is_a_result_not_an_exception(parts: Any) -> None:
    pipeline, _, inbox, outbox = parts
    await pipeline.handle(create("x@y.z"))
    outcome = await pipeline.handle(create("X@Y.Z"))
    assert (outcome.status, outcome.error_code) == ("error", 40001)
    [rec] = [r for r in inbox.rows.values() if r.status == "error"]
    body = json.loads(outbox.rows[rec.result_event_id].value)
    assert body["error"] == {"error_code": 40001, "detail": "email 'X@Y.Z' is already registered"}


async def test_caller_supplied_id_of_another_account_is_rejected(parts: Any) -> None:
    pipeline, accounts, _, _ = parts
    await pipeline.handle(create("one@x.y"))
    [existing] = accounts.rows.values()
    raw = {"command_id": str(uuid.uuid4()), "type": "account.create", "issued_at": "2026-12-03T10:00:00Z",
           "payload": {"email": "two@x.y", "password": "12345678", "organization_name": "x",
                       "account_id": str(existing.account_id)}}
    outcome = await pipeline.handle(decode(json.dumps(raw).encode()))
    assert outcome.error_code == 12022
    assert accounts.rows[existing.account_id] == replace(existing)
