"""The dispatch table: exactly one handler per command type."""

from __future__ import annotations

from consumers.handlers import accounts
from consumers.ports import Handler

HANDLERS: dict[str, Handler] = {
    "account.create": accounts.create_account,
    "account.get": accounts.get_account,
}
