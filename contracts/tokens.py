"""Token commands and the `auth_token` object. Only a hash of a token's secret is ever stored."""

from __future__ import annotations

from uuid import UUID

from contracts.base import Inbound, Label, Outbound, Paged


class TokenCreate(Inbound):
    """`token.create`: a new token for an account; the secret is in the result, once."""

    account_id: UUID
    token_data: Label = ""


class TokenList(Paged):
    """`token.list`: an account's tokens."""

    account_id: UUID


class TokenGet(Inbound):
    """`token.get`."""

    token_id: UUID


class TokenDelete(Inbound):
    """`token.delete`."""

    token_id: UUID


class AuthToken(Outbound):
    """`auth_token`: `token_data` is a free label."""

    token_id: UUID
    token_data: str


class TokenCreated(Outbound):
    """The result of `token.create`: the token and its secret (shown this once)."""

    token_id: UUID
    token_data: str
    token: str


class TokenPage(Outbound):
    """The result of `token.list`."""

    tokens: list[AuthToken]
    token_count: int
