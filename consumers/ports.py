"""The interfaces handlers depend on. Handlers import these, never a driver or broker library."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel

from contracts import ids
from storage.accounts import AccountRecord
from storage.inbox import InboxRecord
from storage.outbox import OutboxEntry


class AccountStore(Protocol):
    """What account handlers need from storage."""

    async def insert(self, rec: AccountRecord) -> None: ...
    async def get(self, account_id: UUID) -> AccountRecord | None: ...
    async def find_by_email(self, email: str) -> AccountRecord | None: ...
    async def counts(self, account_id: UUID) -> dict[str, int]: ...


class InboxStore(Protocol):
    """Processed commands (see `storage.inbox`)."""

    async def get(self, command_id: UUID) -> InboxRecord | None: ...
    async def record(self, rec: InboxRecord) -> None: ...


class OutboxStore(Protocol):
    """Events waiting for Kafka (see `storage.outbox`)."""

    async def add(self, entries: list[OutboxEntry]) -> None: ...
    async def resend_result(self, command_id: UUID) -> int: ...


class PasswordHasher(Protocol):
    """One-way password hashing; `hash` may be slow and runs off the event loop."""

    async def hash(self, password: str) -> str: ...
    def verify(self, hashed: str, password: str) -> bool: ...


@dataclass(frozen=True)
class Deps:
    """Everything a handler may use, built once by the composition root."""

    accounts: AccountStore
    passwords: PasswordHasher


@dataclass(frozen=True)
class Context:
    """Per-command facts: its id (to derive ids from) and the time it is handled."""

    command_id: UUID
    now: datetime

    def new_id(self, kind: str, seq: int = 0) -> UUID:
        """The deterministic id of the `seq`-th `kind` object this command creates."""
        return ids.derive(self.command_id, kind, seq)


@dataclass(frozen=True)
class Event:
    """A domain fact the handler wants published on `luna-admin.events`."""

    type: str
    account_id: UUID | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Handled:
    """What a successful handler returns: the result, its Kafka key and the domain events."""

    result: BaseModel
    key: UUID | None = None
    events: list[Event] = field(default_factory=list)


Handler = Callable[[Any, Context, Deps], Awaitable[Handled]]
