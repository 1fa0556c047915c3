"""Checks shared by handlers of every area."""

from __future__ import annotations

from uuid import UUID

from consumers.ports import Deps
from contracts.errors import ErrorCode, PermanentError
from storage.accounts import AccountRecord


async def existing_account(deps: Deps, account_id: UUID) -> AccountRecord:
    """The account, or 11002."""
    rec = await deps.accounts.get(account_id)
    if rec is None:
        raise PermanentError(ErrorCode.ACCOUNT_NOT_FOUND, f"account {account_id} not found")
    return rec


async def active_account(deps: Deps, account_id: UUID) -> AccountRecord:
    """The account, or 11002, or 11004 when it is blocked: a blocked account keeps its data, but
    nothing may change or use it until it is unblocked."""
    rec = await existing_account(deps, account_id)
    if rec.blocked:
        raise PermanentError(ErrorCode.ACCOUNT_SUSPENDED, f"account {account_id} is suspended")
    return rec


def skip(page: int, page_size: int) -> int:
    return (page - 1) * page_size
