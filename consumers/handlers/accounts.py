"""Account handlers."""

from __future__ import annotations

from consumers.ports import Context, Deps, Event, Handled
from contracts.accounts import Account, AccountCreate, AccountGet, AccountInfo, AccountStats
from contracts.errors import ErrorCode, PermanentError
from storage.accounts import AccountRecord
from storage.errors import Duplicate


def info(rec: AccountRecord) -> AccountInfo:
    return AccountInfo(account_id=rec.account_id, email=rec.email,
                       organization_name=rec.organization_name, status=rec.blocked)


async def create_account(cmd: AccountCreate, ctx: Context, deps: Deps) -> Handled:
    """Create an account. Idempotent: a redelivered create finds the account it made before
    (`created_by` is this command) and returns it; any other collision is 40001."""
    account_id = cmd.account_id or ctx.new_id("account")
    rec = AccountRecord(account_id=account_id, email=cmd.email,
                        organization_name=cmd.organization_name,
                        password_hash=await deps.passwords.hash(cmd.password), blocked=False,
                        created_by=ctx.command_id, create_time=ctx.now)
    try:
        await deps.accounts.insert(rec)
    except Duplicate:
        existing = await deps.accounts.get(account_id)
        if existing is not None and existing.created_by == ctx.command_id:
            rec = existing
        elif existing is not None:
            raise PermanentError(ErrorCode.INVALID_PAYLOAD,
                                 f"payload.account_id: account {account_id} already exists") from None
        else:
            raise PermanentError(ErrorCode.EMAIL_TAKEN,
                                 f"email {cmd.email!r} is already registered") from None
    result = info(rec)
    event = Event("account.created", account_id, result.model_dump(mode="json"))
    return Handled(result=result, key=account_id, events=[event])


async def get_account(cmd: AccountGet, ctx: Context, deps: Deps) -> Handled:
    """One account with its exact statistics."""
    rec = await deps.accounts.get(cmd.account_id)
    if rec is None:
        raise PermanentError(ErrorCode.ACCOUNT_NOT_FOUND, f"account {cmd.account_id} not found")
    stats = AccountStats(**await deps.accounts.counts(cmd.account_id))
    return Handled(result=Account(info=info(rec), stats=stats), key=cmd.account_id)
