"""The command envelope on RabbitMQ and the result and domain events on Kafka (DESIGN.md)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Outbound, UtcDatetime
from contracts.errors import ServerError


class CommandEnvelope(BaseModel):
    """What an upstream service publishes. `type` selects the payload model, `version` its version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: UUID
    type: str = Field(min_length=1, max_length=64)
    version: int = Field(default=1, ge=1)
    issued_at: UtcDatetime
    correlation_id: str | None = Field(default=None, max_length=128)
    payload: dict[str, Any] = Field(default_factory=dict)


class ResultEvent(Outbound):
    """One per command on `luna-admin.results`: `status` ok with `result`, or error with `error`."""

    event_id: UUID
    type: str
    command_id: UUID
    correlation_id: str | None = None
    status: Literal["ok", "error"]
    result: dict[str, Any] | None = None
    error: ServerError | None = None
    occurred_at: UtcDatetime


class DomainEvent(Outbound):
    """A domain fact on `luna-admin.events` (account.created, account.blocked, ...)."""

    event_id: UUID
    type: str
    command_id: UUID
    account_id: UUID | None = None
    data: dict[str, Any]
    occurred_at: UtcDatetime
