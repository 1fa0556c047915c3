"""Metrics, health, readiness and logs of a running service, against the real servers."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("LUNA_STACK_RUN") or Path(os.environ.get("LUNA_STACK_CACHE") or Path(
    os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "luna-admin-bus") / "run")


async def _get(service: Any, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{service.http_port}{path}", timeout=aiohttp.ClientTimeout(10)) as r:
        return r.status, await r.text()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


async def test_metrics_are_scraped_and_parsed(call: Any, client: Any, results: Any, service: Any,
                                              poll: Any) -> None:
    email = f"m-{uuid.uuid4().hex[:8]}@x.io"
    await call("account.create", {"email": email, "password": "pass-word-1", "organization_name": "M"})
    await call("account.create", {"email": email, "password": "pass-word-1", "organization_name": "M"})
    bad = str(uuid.uuid4())
    await client.publish(b"{not json", routing_key="account.create", message_id=bad)
    await results.wait_for(command_id=bad)

    async def scraped() -> dict[Any, float] | None:
        status, text = await _get(service, "/metrics")
        assert status == 200
        s = _samples(text)
        # the sampler ran since the parking, and every consumer had subscribed by then
        return s if s.get(("luna_parking_messages", ())) == 1 and s.get(("luna_ready", ())) == 1 else None

    s = await poll(scraped, timeout_s=30)
    assert s[("luna_messages_total", (("outcome", "ok"), ("type", "account.create")))] == 1
    assert s[("luna_messages_total", (("outcome", "error"), ("type", "account.create")))] == 2
    assert s[("luna_handler_seconds_count", (("type", "account.create"),))] == 3
    assert s[("luna_queue_depth", (("queue", service.topology.parking_queue),))] == 1
    assert ("luna_outbox_lag_seconds", ()) in s and ("luna_dlq_messages", ()) in s
    assert s[("luna_ready", ())] == 1


async def test_health_and_readiness_answer(service: Any, poll: Any) -> None:
    assert await _get(service, "/healthz") == (200, '{"alive": true}')

    async def ready() -> str | None:  # red until every consumer has subscribed, just after start
        status, body = await _get(service, "/readyz")
        return body if status == 200 else None

    body = await poll(ready, timeout_s=30)
    assert json.loads(body) == {"ready": True, "checks": {"mongodb": True, "rabbitmq": True, "kafka": True}}


async def _ferretdb(action: str) -> None:
    script = ROOT / "deploy" / "local" / "ferretdb.sh"
    proc = await asyncio.create_subprocess_exec("bash", str(script), action)
    assert await proc.wait() == 0, f"ferretdb {action} failed"


async def test_readiness_goes_red_while_mongodb_is_stopped(service: Any, poll: Any) -> None:
    if not (RUN / "ferretdb" / "started-by-us").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs its own FerretDB (deploy/local): it must be stoppable here")
        pytest.skip("FerretDB was not started by deploy/local: not ours to stop")
    await _ferretdb("stop")
    try:
        async def red() -> dict[str, Any] | None:
            status, body = await _get(service, "/readyz")
            return json.loads(body) if status == 503 else None

        report = await poll(red, timeout_s=30)
        assert report["checks"]["mongodb"] is not True
        assert report["checks"]["rabbitmq"] is True and report["checks"]["kafka"] is True
        _, text = await _get(service, "/metrics")
        assert _samples(text)[("luna_ready", ())] == 0
    finally:
        await _ferretdb("start")

    async def green() -> bool:
        return (await _get(service, "/readyz"))[0] == 200

    await poll(green, timeout_s=60)


async def test_one_log_line_per_message_and_no_secret(call: Any) -> None:
    password = f"Secret-{uuid.uuid4().hex[:12]}"
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        created = await call("account.create", {"email": f"l-{uuid.uuid4().hex[:8]}@x.io",
                                                "password": password, "organization_name": "L"})
        token = await call("token.create", {"account_id": created["result"]["account_id"],
                                            "token_data": "ci"})
        await call("account.get", {"account_id": str(uuid.uuid4())})
    handled = [e for e in logs if e["event"] == "handled"]
    assert [(e["type"], e["outcome"], e["error_code"]) for e in handled] == [
        ("account.create", "ok", None), ("token.create", "ok", None), ("account.get", "error", 11002)]
    for e in handled:
        assert {"command_id", "type", "account_id", "outcome", "error_code", "duration_ms"} <= set(e)
    text = json.dumps(logs, default=str)
    assert password not in text
    assert token["result"]["token"] not in text


async def test_an_account_header_naming_another_account_is_logged(call: Any, client: Any,
                                                                  results: Any) -> None:
    from service.client import envelope
    from tests.e2e.support import new_account, ok

    owner = await new_account(call, "hdr")
    list_id = (await ok(call, "list.create", {"account_id": owner, "type": "persons"}))["list_id"]
    person = (await ok(call, "person.create", {"account_id": owner}))["person_id"]
    stranger = str(uuid.uuid4())
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        for header in (owner, stranger):
            cmd = envelope("list.attach", {"list_id": list_id, "person_ids": [person]})
            await client.publish(cmd, headers={"account_id": header})
            hit = (await results.wait_for(command_id=cmd["command_id"]))[0]["value"]
            assert hit["status"] == "ok", hit  # the header decides the lane only, never the effect
    mismatches = [e for e in logs if e["event"] == "account_header_mismatch"]
    assert [(e["header_account_id"], e["account_id"]) for e in mismatches] == [(stranger, owner)]
