"""What the pipeline writes for one command, built the way `consumers.pipeline` builds it at HEAD
(same models, same derived ids, same document fields), so the ceilings store and send the same
bytes. Built before timing starts: building them is the pipeline's CPU, not the server's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from bench.workload import Command
from contracts import accounts as c
from contracts import ids
from contracts.envelope import DomainEvent, ResultEvent

Doc = dict[str, Any]


@dataclass(frozen=True)
class Record:
    """One outbox entry / Kafka record."""

    stream: str  # results | events
    event_id: str
    key: str
    value: bytes
    headers: dict[str, str]
    kind: str


@dataclass
class Written:
    """Everything one command makes the pipeline store and publish."""

    command_id: str
    type: str
    account_doc: Doc | None = None  # account.create's insert
    read_account: str | None = None  # account.get's find + counts
    records: list[Record] = field(default_factory=list)


def _record(stream: str, key: str, model: ResultEvent | DomainEvent, kind: str) -> Record:
    headers = {"event_id": str(model.event_id), "type": model.type, "command_id": str(model.command_id),
               "content-type": "application/json"}
    return Record(stream, str(model.event_id), key, model.model_dump_json().encode(), headers, kind)


def written(cmd: Command, password_hash: str) -> Written:
    """The writes of one account.create / account.get. Other types get only the outbox result and
    the inbox record here (their own state writes are not mirrored yet: their ceiling is optimistic)."""
    raw = json.loads(cmd.body)
    command_id, payload, now = UUID(raw["command_id"]), raw["payload"], datetime.now(UTC)
    out = Written(cmd.command_id, cmd.type)
    key, result, events = str(command_id), None, []
    if cmd.type == "account.create":
        account_id = ids.derive(command_id, "account")
        info = c.AccountInfo(account_id=account_id, email=payload["email"],
                             organization_name=payload["organization_name"], status=False)
        out.account_doc = {"_id": str(account_id), "email": payload["email"],
                           "email_lower": payload["email"].lower(),
                           "organization_name": payload["organization_name"], "password_hash": password_hash,
                           "blocked": False, "created_by": str(command_id), "create_time": now}
        key, result = str(account_id), info.model_dump(mode="json")
        events.append(DomainEvent(event_id=ids.derive(command_id, "account.created", 0),
                                  type="account.created", command_id=command_id, account_id=account_id,
                                  data=result, occurred_at=now))
    elif cmd.type == "account.get":
        out.read_account = key = payload["account_id"]
        info = c.AccountInfo(account_id=UUID(key), email="seed@example.com", organization_name="Bench Seed",
                             status=False)
        stats = c.AccountStats(person_count=0, list_count=0, descriptor_count=0, token_count=0)
        result = c.Account(info=info, stats=stats).model_dump(mode="json")
    out.records = [_record("events", str(ev.account_id), ev, "event") for ev in events]
    res = ResultEvent(event_id=ids.derive(command_id, "result"), type=f"{cmd.type}.result",
                      command_id=command_id, status="ok", result=result, occurred_at=now)
    out.records.append(_record("results", key, res, "result"))
    return out


def outbox_doc(rec: Record, command_id: str, seq: int) -> Doc:
    """As `storage.outbox._to_doc` at HEAD."""
    return {"_id": rec.event_id, "stream": rec.stream, "key": rec.key, "value": rec.value,
            "headers": rec.headers, "command_id": command_id, "kind": rec.kind, "seq": seq, "sent": False,
            "created_at": datetime.now(UTC)}
