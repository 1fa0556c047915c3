"""Account handlers."""

from __future__ import annotations

from uuid import UUID

from consumers.handlers.guards import active_account, existing_account, skip
from consumers.ports import Context, Deps, Event, Handled
from contracts import accounts as c
from contracts.errors import ErrorCode, PermanentError
from storage.accounts import OWNED, AccountRecord
from storage.errors import Duplicate


def info(rec: AccountRecord) -> c.AccountInfo:
    return c.AccountInfo(account_id=rec.account_id, email=rec.email,
                         organization_name=rec.organization_name, status=rec.blocked)


def _changed(kind: str, rec: AccountRecord) -> Handled:
    result = info(rec)
    return Handled(result=result, key=rec.account_id,
                   events=[Event(kind, rec.account_id, result.model_dump(mode="json"))])


async def create_account(cmd: c.AccountCreate, ctx: Context, deps: Deps) -> Handled:
    """Create an account. Idempotent: a redelivered create finds the account it made before
    (`created_by` is this command) and returns it; an email taken by another account is 40001,
    decided by the unique index, so two racing creates cannot both win."""
    account_id = cmd.account_id or ctx.new_id("account")
    # Before the hash (a quarter of a second of CPU): an email plainly taken by another account.
    # Only a shortcut: the unique index below still decides a race.
    taken = await deps.accounts.find_by_email(cmd.email)
    if taken is not None and taken.account_id != account_id and taken.created_by != ctx.command_id:
        raise PermanentError(ErrorCode.EMAIL_TAKEN, f"email {cmd.email!r} is already registered")
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
    return _changed("account.created", rec)


async def get_account(cmd: c.AccountGet, ctx: Context, deps: Deps) -> Handled:
    """One account with its exact statistics."""
    rec = await existing_account(deps, cmd.account_id)
    stats = c.AccountStats(**await deps.accounts.counts(cmd.account_id))
    return Handled(result=c.Account(info=info(rec), stats=stats), key=cmd.account_id)


async def list_accounts(cmd: c.AccountList, ctx: Context, deps: Deps) -> Handled:
    """A page of accounts ordered by email."""
    recs, total = await deps.accounts.page(skip(cmd.page, cmd.page_size), cmd.page_size, cmd.email,
                                           cmd.organization_name, cmd.blocked)
    return Handled(result=c.AccountPage(accounts=[info(r) for r in recs], account_count=total))


async def _set_blocked(account_id: UUID, blocked: bool, kind: str, deps: Deps) -> Handled:
    await existing_account(deps, account_id)
    rec = await deps.accounts.update(account_id, blocked=blocked)
    if rec is None:
        raise PermanentError(ErrorCode.ACCOUNT_NOT_FOUND, f"account {account_id} not found")
    return _changed(kind, rec)


async def block_account(cmd: c.AccountBlock, ctx: Context, deps: Deps) -> Handled:
    """Block: data stays, every command that would change or use it fails with 11004."""
    return await _set_blocked(cmd.account_id, True, "account.blocked", deps)


async def unblock_account(cmd: c.AccountUnblock, ctx: Context, deps: Deps) -> Handled:
    """Unblock."""
    return await _set_blocked(cmd.account_id, False, "account.unblocked", deps)


async def update_account(cmd: c.AccountUpdate, ctx: Context, deps: Deps) -> Handled:
    """New organization name and/or password (a blocked account cannot be changed: 11004)."""
    await active_account(deps, cmd.account_id)
    fields: dict[str, object] = {}
    if cmd.organization_name is not None:
        fields["organization_name"] = cmd.organization_name
    if cmd.password is not None:
        fields["password_hash"] = await deps.passwords.hash(cmd.password)
    rec = await deps.accounts.update(cmd.account_id, **fields) if fields else None
    rec = rec or await existing_account(deps, cmd.account_id)
    return _changed("account.updated", rec)


async def delete_account(cmd: c.AccountDelete, ctx: Context, deps: Deps) -> Handled:
    """Remove the account and all it owns, samples in the image store included; tasks stay as
    history. The counts are frozen on the account first, so a redelivery reports the same ones."""
    counts = await deps.accounts.begin_delete(cmd.account_id, ctx.command_id)
    if counts is None:
        raise PermanentError(ErrorCode.ACCOUNT_NOT_FOUND, f"account {cmd.account_id} not found")
    for collection in OWNED:
        removed = await deps.accounts.delete_owned(cmd.account_id, collection)
        for doc in removed:
            if doc.get("sample_id"):
                await deps.images.delete(str(doc["sample_id"]))
    await deps.accounts.finish_delete(cmd.account_id, ctx.command_id)
    result = c.AccountDeleted(deleted=c.DeletedCounts(**counts))
    return Handled(result=result, key=cmd.account_id,
                   events=[Event("account.deleted", cmd.account_id, result.model_dump(mode="json"))])
