"""The interfaces handlers depend on. Handlers import these, never a driver or broker library."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from pydantic import BaseModel

from consumers.ports_faces import FaceStore, ListStore, PersonStore
from consumers.ports_tasks import PartQueue, TaskFaceStore, TaskStore
from contracts import ids
from storage.accounts import AccountRecord
from storage.dead_letters import DeadLetterRecord
from storage.images import ImageStore
from storage.inbox import InboxRecord
from storage.outbox import OutboxEntry
from storage.tokens import TokenRecord

if TYPE_CHECKING:  # the worker module loads dlib; handlers need only the interface
    from consumers.face_worker import FaceEngine

Doc = dict[str, Any]


class AccountStore(Protocol):
    """Accounts (see `storage.accounts`)."""

    async def insert(self, rec: AccountRecord) -> None: ...
    async def get(self, account_id: UUID) -> AccountRecord | None: ...
    async def find_by_email(self, email: str) -> AccountRecord | None: ...
    async def page(self, skip: int, limit: int, email: str | None, organization_name: str | None,
                   blocked: bool | None) -> tuple[list[AccountRecord], int]: ...
    async def update(self, account_id: UUID, **fields: Any) -> AccountRecord | None: ...
    async def counts(self, account_id: UUID) -> dict[str, int]: ...
    async def begin_delete(self, account_id: UUID, command_id: UUID) -> dict[str, int] | None: ...
    async def delete_owned(self, account_id: UUID, collection: str) -> list[Doc]: ...
    async def finish_delete(self, account_id: UUID, command_id: UUID) -> None: ...


class TokenStore(Protocol):
    """Tokens (see `storage.tokens`)."""

    async def insert(self, rec: TokenRecord) -> None: ...
    async def get(self, token_id: UUID, deleted_by: UUID | None = None) -> TokenRecord | None: ...
    async def page(self, account_id: UUID, skip: int, limit: int) -> tuple[list[TokenRecord], int]: ...
    async def delete(self, token_id: UUID, command_id: UUID) -> bool: ...


class LookupStore(Protocol):
    """Cross-collection reads (see `storage.lookup`)."""

    async def by_id(self, object_id: str) -> tuple[str, Doc] | None: ...
    async def account_by_email(self, email: str) -> Doc | None: ...
    async def totals(self) -> dict[str, object]: ...


class SeriesReader(Protocol):
    """Command counters (see `storage.series`)."""

    async def query(self, since: datetime, until: datetime, step_s: int,
                    outcome: str | None, type_prefix: str | None) -> list[Doc]: ...


class InboxStore(Protocol):
    """Processed commands (see `storage.inbox`)."""

    async def get(self, command_id: UUID) -> InboxRecord | None: ...
    async def record(self, rec: InboxRecord) -> None: ...


class OutboxStore(Protocol):
    """Events waiting for Kafka (see `storage.outbox`)."""

    async def add(self, entries: list[OutboxEntry]) -> None: ...
    async def resend_result(self, command_id: UUID) -> int: ...
    async def result_of(self, command_id: UUID) -> bytes | None: ...


class PasswordHasher(Protocol):
    """One-way password hashing; `hash` may be slow and runs off the event loop."""

    async def hash(self, password: str) -> str: ...
    def verify(self, hashed: str, password: str) -> bool: ...


class DeadLetterReader(Protocol):
    """Dead-lettered messages (see `storage.dead_letters`)."""

    async def waiting(self, queue: str | None, limit: int) -> list[DeadLetterRecord]: ...
    async def by_ids(self, ids: list[str]) -> list[DeadLetterRecord]: ...
    async def mark_replayed(self, message_id: str, at: datetime) -> None: ...


class Replayer(Protocol):
    """Publishes a dead-lettered message back into the commands exchange."""

    async def replay(self, rec: DeadLetterRecord) -> None: ...


@dataclass(frozen=True)
class ServiceInfo:
    """What the service commands report about the running service."""

    version: str
    config: dict[str, Any]
    grafana_url: str


@dataclass(frozen=True)
class Deps:
    """Everything a handler may use, built once by the composition root (unit tests pass fakes)."""

    accounts: AccountStore
    passwords: PasswordHasher
    tokens: TokenStore
    lookup: LookupStore
    series: SeriesReader
    images: ImageStore
    service_key: bytes
    info: ServiceInfo
    dead_letters: DeadLetterReader
    replayer: Replayer
    lists: ListStore
    persons: PersonStore
    faces: FaceStore
    engine: FaceEngine
    tasks: TaskStore
    task_faces: TaskFaceStore
    parts: PartQueue
    task_window: int = 2  # part messages of one task queued at a time (fairness between tasks)


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
    """What a successful handler returns: the result, its Kafka key, the domain events, and other
    outbox records it built itself (task progress events, with ids of their own)."""

    result: BaseModel
    key: UUID | None = None
    events: list[Event] = field(default_factory=list)
    records: list[OutboxEntry] = field(default_factory=list)


Handler = Callable[[Any, Context, Deps], Awaitable[Handled]]
