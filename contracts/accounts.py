"""Account commands, the `account_info` / `account_stats` / `account` objects."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from contracts.base import Email, Inbound, Label, Outbound, Paged, Password


class AccountCreate(Inbound):
    """`account.create`: a new account; `account_id` is derived from the command id when absent."""

    email: Email
    password: Password
    organization_name: Label
    account_id: UUID | None = None


class AccountGet(Inbound):
    """`account.get`: one account with its exact statistics."""

    account_id: UUID


class AccountList(Paged):
    """`account.list` (version 2): accounts ordered by email; `email` matches a substring,
    case-insensitively; `blocked` filters on the block flag (version 1 called it `status`)."""

    email: str | None = Field(default=None, max_length=254)
    organization_name: Label | None = None
    blocked: bool | None = None


def account_list_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 named the block filter `status` (as `account_info` does); version 2 says `blocked`."""
    if "status" in payload:
        payload = {k: v for k, v in payload.items() if k != "status"} | {"blocked": payload["status"]}
    return payload


class AccountBlock(Inbound):
    """`account.block`: the account keeps its data but every command using it fails with 11004."""

    account_id: UUID


class AccountUnblock(Inbound):
    """`account.unblock`: lifts a block."""

    account_id: UUID


class AccountUpdate(Inbound):
    """`account.update`: a new organization name and/or password."""

    account_id: UUID
    organization_name: Label | None = None
    password: Password | None = None


class AccountDelete(Inbound):
    """`account.delete`: removes the account and everything it owns (tasks stay as history)."""

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


class AccountPage(Outbound):
    """The result of `account.list`."""

    accounts: list[AccountInfo]
    account_count: int


class DeletedCounts(Outbound):
    """What `account.delete` removed."""

    persons: int
    lists: int
    faces: int
    tokens: int


class AccountDeleted(Outbound):
    """The result of `account.delete`."""

    deleted: DeletedCounts
