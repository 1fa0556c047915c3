"""Account commands, the `account_info` / `account_stats` / `account` objects and account events."""

from __future__ import annotations

from uuid import UUID

from contracts.base import Email, Inbound, Label, Outbound, Password


class AccountCreate(Inbound):
    """`account.create`: a new account; `account_id` is derived from the command id when absent."""

    email: Email
    password: Password
    organization_name: Label
    account_id: UUID | None = None


class AccountGet(Inbound):
    """`account.get`: one account with its exact statistics."""

    account_id: UUID


class AccountInfo(Outbound):
    """`account_info`; `status` is true when the account is blocked."""

    account_id: UUID
    email: str
    organization_name: str
    status: bool


class AccountStats(Outbound):
    """`account_stats`: computed from the store on every read."""

    person_count: int
    list_count: int
    descriptor_count: int
    token_count: int


class Account(Outbound):
    """`account`: info and stats."""

    info: AccountInfo
    stats: AccountStats
