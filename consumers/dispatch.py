"""The dispatch table: exactly one handler per command type."""

from __future__ import annotations

from consumers.handlers import accounts, service, tokens
from consumers.ports import Handler

HANDLERS: dict[str, Handler] = {
    "account.create": accounts.create_account,
    "account.get": accounts.get_account,
    "account.list": accounts.list_accounts,
    "account.block": accounts.block_account,
    "account.unblock": accounts.unblock_account,
    "account.update": accounts.update_account,
    "account.delete": accounts.delete_account,
    "token.create": tokens.create_token,
    "token.list": tokens.list_tokens,
    "token.get": tokens.get_token,
    "token.delete": tokens.delete_token,
    "search": service.search,
    "stats.get": service.get_stats,
    "stats.series": service.series,
    "version.get": service.version,
    "config.get": service.config,
    "grafana.get": service.grafana,
}
