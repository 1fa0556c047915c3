"""The generated reference pages under docs/ are current, and cover every command and setting."""

from __future__ import annotations

from contracts.registry import COMMANDS
from service import docs
from service.settings import Settings


def test_committed_pages_are_current() -> None:
    assert docs.stale() == [], "run `luna-admin docs export` and commit docs/"


def test_every_command_has_a_row_with_its_errors() -> None:
    page = docs.commands_page()
    for name in COMMANDS:
        assert f"| `{name}` |" in page
    assert set(docs.ERRORS) == set(COMMANDS)


def test_every_setting_is_listed_and_no_secret_default_is_shown() -> None:
    page = docs.configuration_page()
    assert "`LUNA_AMQP__PREFETCH` | `100`" in page
    assert "`LUNA_HTTP__PORT` | `9108`" in page
    assert "guest:guest" not in page and Settings().amqp.url.get_secret_value() not in page
