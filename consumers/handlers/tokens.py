"""Token handlers. A token's secret is HMAC(service key, command id): unpredictable without the key,
and the same on every redelivery of the command, so the secret in the result always matches the
stored hash, whichever attempt wrote it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from uuid import UUID

from consumers.handlers.guards import active_account, existing_account, skip
from consumers.ports import Context, Deps, Event, Handled
from contracts import tokens as c
from contracts.base import Empty
from contracts.errors import ErrorCode, PermanentError
from storage.errors import Duplicate
from storage.tokens import TokenRecord


def secret_for(key: bytes, command_id: UUID) -> str:
    mac = hmac.new(key, b"token:" + command_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _auth(rec: TokenRecord) -> c.AuthToken:
    return c.AuthToken(token_id=rec.token_id, token_data=rec.token_data)


async def _token(deps: Deps, token_id: UUID, deleted_by: UUID | None = None) -> TokenRecord:
    rec = await deps.tokens.get(token_id, deleted_by)
    if rec is None:
        raise PermanentError(ErrorCode.TOKEN_NOT_FOUND, f"token {token_id} not found")
    return rec


async def create_token(cmd: c.TokenCreate, ctx: Context, deps: Deps) -> Handled:
    """A new token; the secret is in this result only."""
    await active_account(deps, cmd.account_id)
    secret = secret_for(deps.service_key, ctx.command_id)
    rec = TokenRecord(token_id=ctx.new_id("token"), account_id=cmd.account_id, token_data=cmd.token_data,
                      secret_sha256=secret_hash(secret), created_by=ctx.command_id, create_time=ctx.now)
    # A duplicate is this command's own token from an interrupted attempt: same id, same secret.
    with contextlib.suppress(Duplicate):
        await deps.tokens.insert(rec)
    result = c.TokenCreated(token_id=rec.token_id, token_data=rec.token_data, token=secret)
    event = Event("token.created", cmd.account_id, _auth(rec).model_dump(mode="json"))
    return Handled(result=result, key=cmd.account_id, events=[event])


async def list_tokens(cmd: c.TokenList, ctx: Context, deps: Deps) -> Handled:
    """An account's tokens, oldest first."""
    await existing_account(deps, cmd.account_id)
    recs, total = await deps.tokens.page(cmd.account_id, skip(cmd.page, cmd.page_size), cmd.page_size)
    return Handled(result=c.TokenPage(tokens=[_auth(r) for r in recs], token_count=total),
                   key=cmd.account_id)


async def get_token(cmd: c.TokenGet, ctx: Context, deps: Deps) -> Handled:
    """One token (never its secret)."""
    rec = await _token(deps, cmd.token_id)
    return Handled(result=_auth(rec), key=rec.account_id)


async def delete_token(cmd: c.TokenDelete, ctx: Context, deps: Deps) -> Handled:
    """Delete a token (revokes it); 11022 when it does not exist."""
    rec = await _token(deps, cmd.token_id, deleted_by=ctx.command_id)
    await active_account(deps, rec.account_id)
    await deps.tokens.delete(cmd.token_id, ctx.command_id)
    return Handled(result=Empty(), key=rec.account_id,
                   events=[Event("token.deleted", rec.account_id, {"token_id": str(rec.token_id)})])
