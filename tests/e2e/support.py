"""Helpers shared by the e2e tests: an ok result's value, and a fresh account."""

from __future__ import annotations

import uuid
from typing import Any


async def ok(call: Any, type_: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Send a command through the `call` fixture; its result must be ok; return its `result`."""
    res = await call(type_, payload)
    assert res["status"] == "ok", res
    return dict(res["result"])


async def new_account(call: Any, label: str = "e2e") -> str:
    """A new account with a unique email; its id."""
    res = await call("account.create", {"email": f"{label}-{uuid.uuid4().hex[:8]}@x.io",
                                        "password": "pass-word-1", "organization_name": label})
    return str(res["result"]["account_id"])
