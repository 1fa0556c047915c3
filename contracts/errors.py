"""Error codes of OPERATIONS.md and the exception tree every layer raises.

A handler asks for an outcome by raising: a `PermanentError` becomes an error result (and, for
messages that never became a valid command, a parked message); a `TransientError` is retried.
"""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict


class ErrorCode(IntEnum):
    """Every `error_code` a caller can see, with its text in `ERROR_TEXTS`."""

    REEXTRACT_SAME_VERSION = 10
    STORAGE_FAILURE = 10015
    ACCOUNT_NOT_FOUND = 11002
    ACCOUNT_SUSPENDED = 11004
    INTERNAL = 11009
    PASSWORD_LENGTH = 11014
    TOO_LONG = 11015
    LIST_NOT_FOUND = 11019
    TOKEN_NOT_FOUND = 11022
    NOT_JSON = 12002
    PUBLISHER_NOT_ALLOWED = 12010
    UNKNOWN_COMMAND = 12021
    INVALID_PAYLOAD = 12022
    SAMPLE_NOT_FOUND = 13003
    TASK_NOT_FOUND = 16009
    EXTRACTOR_UNAVAILABLE = 16011
    PERSON_NOT_FOUND = 22007
    BAD_TASK_PART = 30000
    EMAIL_TAKEN = 40001
    FACE_NOT_FOUND = 40002
    FACE_LINKED_ELSEWHERE = 40003
    MEMBER_KIND_MISMATCH = 40004
    MEMBER_OTHER_ACCOUNT = 40005
    NO_FACE_FOUND = 40006
    BAD_IMAGE = 40007

    @property
    def text(self) -> str:
        return ERROR_TEXTS[self]


ERROR_TEXTS: dict[ErrorCode, str] = {
    ErrorCode.REEXTRACT_SAME_VERSION: "Re-extract target is the version already in use",
    ErrorCode.STORAGE_FAILURE: "Storage failure after retries",
    ErrorCode.ACCOUNT_NOT_FOUND: "Account not found",
    ErrorCode.ACCOUNT_SUSPENDED: "Account is suspended",
    ErrorCode.INTERNAL: "Internal error",
    ErrorCode.PASSWORD_LENGTH: "Password must be 8-32 characters",
    ErrorCode.TOO_LONG: "User data or label longer than 128 characters",
    ErrorCode.LIST_NOT_FOUND: "List not found",
    ErrorCode.TOKEN_NOT_FOUND: "Token not found",
    ErrorCode.NOT_JSON: "Message body is not JSON",
    ErrorCode.PUBLISHER_NOT_ALLOWED: "Publisher not allowed",
    ErrorCode.UNKNOWN_COMMAND: "Unknown command type",
    ErrorCode.INVALID_PAYLOAD: "Payload failed validation",
    ErrorCode.SAMPLE_NOT_FOUND: "Sample not found in the image store",
    ErrorCode.TASK_NOT_FOUND: "Task not found",
    ErrorCode.EXTRACTOR_UNAVAILABLE: "Extractor unavailable",
    ErrorCode.PERSON_NOT_FOUND: "Person not found",
    ErrorCode.BAD_TASK_PART: "Bad internal task part",
    ErrorCode.EMAIL_TAKEN: "Email already registered",
    ErrorCode.FACE_NOT_FOUND: "Face not found",
    ErrorCode.FACE_LINKED_ELSEWHERE: "Face already linked to another person",
    ErrorCode.MEMBER_KIND_MISMATCH: "Member kind does not match the list type",
    ErrorCode.MEMBER_OTHER_ACCOUNT: "Member belongs to another account",
    ErrorCode.NO_FACE_FOUND: "No face found in the image",
    ErrorCode.BAD_IMAGE: "Image cannot be decoded",
}


class ServerError(BaseModel):
    """The `server_error` object: every failure carries exactly this shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_code: int
    detail: str


class LunaError(Exception):
    """Root of every error the service raises on purpose; carries an `ErrorCode`."""

    def __init__(self, code: ErrorCode, detail: str | None = None) -> None:
        self.code = code
        self.detail = detail or code.text
        super().__init__(f"{int(code)}: {self.detail}")

    def to_server_error(self) -> ServerError:
        return ServerError(error_code=int(self.code), detail=self.detail)


class PermanentError(LunaError):
    """Retrying cannot help: bad input or a business rule. Becomes an error result."""


class RejectedMessage(PermanentError):
    """The message never became a valid command: error result and the raw bytes are parked."""


class TransientError(LunaError):
    """A server was unreachable or timed out: the message is retried with growing delay."""

    def __init__(self, detail: str, code: ErrorCode = ErrorCode.STORAGE_FAILURE) -> None:
        super().__init__(code, detail)
