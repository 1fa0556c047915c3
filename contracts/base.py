"""Base classes and constrained types shared by every area's models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from contracts.errors import ErrorCode


class Inbound(BaseModel):
    """A command payload: frozen, and a field the model does not know is an error (12022)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Outbound(BaseModel):
    """A result or event body: frozen; serialised as JSON with UTC times."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def coded(code: ErrorCode, message: str) -> PydanticCustomError:
    """A validation error that maps to a specific error code instead of the generic 12022."""
    return PydanticCustomError(f"luna_{int(code)}", message)


def _max_128(value: str) -> str:
    if len(value) > 128:
        raise coded(ErrorCode.TOO_LONG, "must be at most 128 characters")
    return value


def _password(value: str) -> str:
    if not 8 <= len(value) <= 32:
        raise coded(ErrorCode.PASSWORD_LENGTH, "password must be 8-32 characters")
    return value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
        raise coded(ErrorCode.INVALID_PAYLOAD, "time must be ISO 8601 in UTC")
    return value.astimezone(UTC)


# The limits are checked by after-validators (so they carry their own error codes) and published
# in the JSON Schema by WithJsonSchema (so upstream teams see them).
Label = Annotated[str, AfterValidator(_max_128), WithJsonSchema({"type": "string", "maxLength": 128})]
"""user_data, token_data, organization_name: at most 128 characters (11015)."""

Password = Annotated[str, AfterValidator(_password),
                     WithJsonSchema({"type": "string", "minLength": 8, "maxLength": 32})]
"""8 to 32 characters (11014)."""

Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]

UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""An ISO 8601 time with an explicit UTC offset."""

Page = Annotated[int, Field(ge=1)]
PageSize = Annotated[int, Field(ge=1, le=100)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Paged(Inbound):
    """`page` ≥ 1 (default 1) and `page_size` 1–100 (default 10), as in the original."""

    page: Page = 1
    page_size: PageSize = 10


class Empty(Outbound):
    """The `{}` result of deletions."""
