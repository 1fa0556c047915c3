"""The effectively-once path of one command, with no multi-document transaction:

1. inbox hit: the command was fully processed before; queue its stored result again (same event
   id) and stop;
2. run the one handler (its writes are idempotent by construction: deterministic ids, conditional
   updates), or turn its `PermanentError` into an error result;
3. add the result and domain events to the outbox (their ids derive from the command id, so a
   second attempt adds nothing new);
4. write the inbox record last: from then on the command counts as done.

A crash anywhere before 4 leads to a redelivery that repeats 2-4 with the same ids and one effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel

from consumers.dispatch import HANDLERS
from consumers.ports import Context, Deps, Handled, Handler, InboxStore, OutboxStore
from contracts import ids
from contracts.decode import Command, Rejected
from contracts.envelope import DomainEvent, ResultEvent
from contracts.errors import ErrorCode, PermanentError, ServerError
from storage.inbox import InboxRecord
from storage.outbox import OutboxEntry


@dataclass(frozen=True)
class Outcome:
    """How a message ended, for the log line and metrics."""

    status: str  # ok | error | duplicate
    error_code: int | None = None
    account_id: UUID | None = None
    result: bytes | None = None  # the result event's JSON, for an AMQP reply


class Pipeline:
    """Inbox, handler, outbox, inbox record: see the module docstring for the order and why."""

    def __init__(self, deps: Deps, inbox: InboxStore, outbox: OutboxStore,
                 handlers: dict[str, Handler] | None = None,
                 on_outbox: Callable[[], None] | None = None) -> None:
        self._deps = deps
        self._inbox = inbox
        self._outbox = outbox
        self._handlers = handlers if handlers is not None else HANDLERS
        self._on_outbox = on_outbox or (lambda: None)

    async def handle(self, cmd: Command) -> Outcome:
        if (stored := await self._replayed(cmd.command_id)) is not None:
            return stored
        ctx = Context(command_id=cmd.command_id, now=datetime.now(UTC))
        handler = self._handlers.get(cmd.type)
        try:
            if handler is None:
                raise PermanentError(ErrorCode.UNKNOWN_COMMAND, f"no handler for {cmd.type!r}")
            handled = await handler(cmd.payload, ctx, self._deps)
        except PermanentError as exc:
            result = await self._finish(cmd.command_id, cmd.type, cmd.envelope.correlation_id,
                                        exc.to_server_error(), None, ctx.now)
            return Outcome("error", int(exc.code), result=result)
        result = await self._finish(cmd.command_id, cmd.type, cmd.envelope.correlation_id, None,
                                    handled, ctx.now)
        return Outcome("ok", account_id=handled.key, result=result)

    async def reject(self, rejected: Rejected) -> Outcome:
        """The error result of a message that never became a valid command (it is parked too)."""
        if (stored := await self._replayed(rejected.command_id)) is not None:
            return stored
        result = await self._finish(rejected.command_id, rejected.type or "unknown",
                                    rejected.correlation_id, rejected.to_server_error(), None,
                                    datetime.now(UTC))
        return Outcome("error", int(rejected.code), result=result)

    async def _replayed(self, command_id: UUID) -> Outcome | None:
        """For a command already done: queue its stored result again and return it."""
        if await self._inbox.get(command_id) is None:
            return None
        await self._outbox.resend_result(command_id)
        self._on_outbox()
        return Outcome("duplicate", result=await self._outbox.result_of(command_id))

    async def _finish(self, command_id: UUID, type_: str, correlation_id: str | None,
                      error: ServerError | None, handled: Handled | None, now: datetime) -> bytes:
        result_id = ids.derive(command_id, "result")
        result = ResultEvent(event_id=result_id, type=f"{type_}.result", command_id=command_id,
                             correlation_id=correlation_id, status="error" if error else "ok",
                             result=handled.result.model_dump(mode="json") if handled else None,
                             error=error, occurred_at=now)
        key = str(handled.key) if handled and handled.key else str(command_id)
        entries = [_entry("events", ev_key, event, command_id, "event")
                   for ev_key, event in _domain_events(command_id, handled, now)]
        entries[:0] = handled.records if handled else []
        entries.append(_entry("results", key, result, command_id, "result"))
        await self._outbox.add(entries)
        await self._inbox.record(InboxRecord(command_id, type_, result.status, result_id, now))
        self._on_outbox()
        return entries[-1].value


def _domain_events(command_id: UUID, handled: Handled | None,
                   now: datetime) -> list[tuple[str, DomainEvent]]:
    if handled is None:
        return []
    out = []
    for seq, ev in enumerate(handled.events):
        event = DomainEvent(event_id=ids.derive(command_id, ev.type, seq), type=ev.type,
                            command_id=command_id, account_id=ev.account_id, data=ev.data, occurred_at=now)
        out.append((str(ev.account_id or command_id), event))
    return out


def _entry(stream: str, key: str, model: ResultEvent | DomainEvent, command_id: UUID,
           kind: str) -> OutboxEntry:
    headers = (("event_id", str(model.event_id)), ("type", model.type),
               ("command_id", str(command_id)), ("content-type", "application/json"))
    return OutboxEntry(event_id=model.event_id, stream=stream, key=key, value=_json(model),
                       headers=headers, command_id=command_id, kind=kind)


def _json(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()
