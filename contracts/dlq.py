"""Commands about dead-lettered messages."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from contracts.base import Inbound, Outbound


class DlqList(Inbound):
    """`dlq.list`: dead-lettered messages, oldest first."""

    queue: str | None = Field(default=None, max_length=255)
    limit: int = Field(default=100, ge=1, le=1000)


class DeadLetter(Outbound):
    """A dead-lettered message with why and how often it failed."""

    message_id: str
    queue: str
    routing_key: str
    reason: str
    attempts: int
    first_failure: datetime | None
    last_failure: datetime | None


class DlqPage(Outbound):
    """The result of `dlq.list`."""

    messages: list[DeadLetter]
    count: int


class DlqReplay(Inbound):
    """`dlq.replay`: send messages back through the normal idempotent path."""

    message_ids: list[str] | None = Field(default=None, max_length=10_000)
    all: bool = False
    rate: float | None = Field(default=None, gt=0, le=10_000, description="messages per second")

    @model_validator(mode="after")
    def _which(self) -> DlqReplay:
        if (self.message_ids is not None) == self.all:
            raise ValueError("give message_ids or all=true, not both")
        return self


class DlqReplayed(Outbound):
    """The result of `dlq.replay`."""

    replayed: int
