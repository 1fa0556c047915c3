"""Bytes from the wire to a typed command, or a `RejectedMessage` carrying the right error code.

Every input ends in one of the two: this function never lets another exception out.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts import ids
from contracts.envelope import CommandEnvelope
from contracts.errors import ErrorCode, RejectedMessage
from contracts.registry import COMMANDS, CommandSpec


@dataclass(frozen=True)
class Command:
    """A validated command: its envelope and its payload as the current version's model."""

    envelope: CommandEnvelope
    payload: BaseModel
    spec: CommandSpec

    @property
    def command_id(self) -> uuid.UUID:
        return self.envelope.command_id

    @property
    def type(self) -> str:
        return self.envelope.type


class Rejected(RejectedMessage):
    """A rejected message, with what could still be read of it for the error result."""

    def __init__(self, code: ErrorCode, detail: str, command_id: uuid.UUID, type_: str | None,
                 correlation_id: str | None) -> None:
        super().__init__(code, detail)
        self.command_id = command_id
        self.type = type_
        self.correlation_id = correlation_id


def decode(body: bytes, message_id: str | None = None, type_hint: str | None = None) -> Command:
    """Parse and validate one command message; raise `Rejected` with 12002, 12021 or 12022 (or a
    field-specific code such as 11014 or 11015).

    `message_id` and `type_hint` (the AMQP properties, or the routing key) name the command in the
    error result when the body itself cannot."""
    fallback_id = _uuid_or_none(message_id) or ids.for_body(body)
    hint = type_hint if type_hint in COMMANDS else None
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(ErrorCode.NOT_JSON, f"body is not JSON: {exc}", fallback_id, hint, None) from None
    if not isinstance(raw, dict):
        raise Rejected(ErrorCode.INVALID_PAYLOAD, "body: must be a JSON object", fallback_id, hint, None)
    command_id = _uuid_or_none(raw.get("command_id")) or fallback_id
    type_ = raw.get("type") if isinstance(raw.get("type"), str) else hint
    corr = raw.get("correlation_id") if isinstance(raw.get("correlation_id"), str) else None
    try:
        envelope = CommandEnvelope.model_validate(raw)
    except ValidationError as exc:
        code, detail = describe(exc, prefix="")
        raise Rejected(code, detail, command_id, type_, corr) from None
    spec = COMMANDS.get(envelope.type)
    if spec is None:
        raise Rejected(ErrorCode.UNKNOWN_COMMAND, f"unknown command type {envelope.type!r}",
                       command_id, envelope.type, corr)
    if envelope.version not in spec.versions:
        raise Rejected(ErrorCode.INVALID_PAYLOAD,
                       f"version: {envelope.type} accepts versions {list(spec.versions)}",
                       command_id, envelope.type, corr)
    try:
        payload = spec.payload.model_validate(spec.upgrade(envelope.version, dict(envelope.payload)))
    except ValidationError as exc:
        code, detail = describe(exc, prefix="payload.")
        raise Rejected(code, detail, command_id, envelope.type, corr) from None
    return Command(envelope=envelope, payload=payload, spec=spec)


def describe(exc: ValidationError, prefix: str) -> tuple[ErrorCode, str]:
    """The error code and a `detail` naming each failing path and its reason."""
    errors = exc.errors(include_url=False)
    parts = [f"{prefix}{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors]
    return _code_of(errors[0]), "; ".join(parts)


def _code_of(error: Any) -> ErrorCode:
    kind = str(error.get("type", ""))
    if kind.startswith("luna_"):
        return ErrorCode(int(kind.removeprefix("luna_")))
    return ErrorCode.INVALID_PAYLOAD


def _uuid_or_none(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
