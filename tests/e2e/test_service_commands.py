"""search, stats.get, stats.series, version.get, config.get, grafana.get end to end."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


async def test_search_tries_each_kind_in_order_then_email(call: Any, service: Any) -> None:
    email = f"Search-{uuid.uuid4().hex[:6]}@X.io"
    acc = await call("account.create", {"email": email, "password": "pass-word-1", "organization_name": "S"})
    account_id = acc["result"]["account_id"]
    token = (await call("token.create", {"account_id": account_id, "token_data": "lbl"}))["result"]
    db = service.db
    list_id, face_id, person_id = (str(uuid.uuid4()) for _ in range(3))
    await db.lists.insert_one({"_id": list_id, "account_id": account_id, "type": "persons"})
    await db.faces.insert_one({"_id": face_id, "account_id": account_id})
    await db.persons.insert_one({"_id": person_id, "account_id": account_id})

    async def search(q: str) -> dict[str, Any]:
        return dict((await call("search", {"q": q}))["result"])

    assert (await search(list_id))["type"] == "list"
    hit = await search(account_id)
    assert hit["type"] == "account" and hit["data"]["email"] == email and hit["data"]["status"] is False
    assert "password_hash" not in json.dumps(hit)
    by_token = await search(token["token_id"])
    assert by_token["type"] == "token" and by_token["data"]["account"]["account_id"] == account_id
    assert token["token"] not in json.dumps(by_token)
    assert (await search(face_id))["type"] == "face"
    assert (await search(person_id))["type"] == "person"
    assert (await search(email.lower()))["data"]["account_id"] == account_id
    assert await search(str(uuid.uuid4())) == {"type": None, "data": None}
    assert await search("nobody@nowhere.io") == {"type": None, "data": None}


async def test_stats_totals_and_account_stats(call: Any, code: Any, service: Any) -> None:
    before = (await call("stats.get"))["result"]
    acc = await call("account.create", {"email": f"st-{uuid.uuid4().hex[:6]}@x.io",
                                        "password": "pass-word-1", "organization_name": "S"})
    account_id = acc["result"]["account_id"]
    await call("token.create", {"account_id": account_id})
    await service.db.faces.insert_many([
        {"_id": str(uuid.uuid4()), "account_id": account_id, "descriptor_versions": ["v1", "v2"]},
        {"_id": str(uuid.uuid4()), "account_id": account_id, "descriptor_versions": ["v1"]}])
    await call("account.block", {"account_id": account_id})
    after = (await call("stats.get"))["result"]
    assert after["accounts"] == before["accounts"] + 1
    assert after["blocked_accounts"] == before["blocked_accounts"] + 1
    assert after["tokens"] == before["tokens"] + 1
    assert after["faces"] == before["faces"] + 2
    assert after["descriptors"] == {"v1": 2, "v2": 1}
    assert set(after["tasks"]) == {"in_progress", "done", "cancelled", "failed"}
    mine = (await call("stats.get", {"account_id": account_id}))["result"]
    assert mine == {"person_count": 0, "list_count": 0, "descriptor_count": 3, "token_count": 1}
    assert code(await call("stats.get", {"account_id": str(uuid.uuid4())})) == 11002


async def test_series_counts_processed_commands_by_type_and_outcome(call: Any, code: Any, poll: Any) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    await call("account.get", {"account_id": str(uuid.uuid4())})  # error 11002
    await call("account.get", {"account_id": str(uuid.uuid4())})
    await call("version.get")
    window = {"since": start.isoformat(), "until": (start + timedelta(minutes=10)).isoformat(),
              "group_by": "10m"}

    async def counted() -> Any:
        res = (await call("stats.series", {"series": "commands", **window}))["result"]
        counts = {(c["type"], c["outcome"]): c["count"] for c in res["buckets"][0]["counts"]}
        return res if counts.get(("account.get", "error")) == 2 and ("version.get", "ok") in counts else None

    res = await poll(counted)
    assert len(res["buckets"]) == 1
    errors = (await call("stats.series", {"series": "errors", **window}))["result"]
    assert all(c["outcome"] == "error" for c in errors["buckets"][0]["counts"])
    fine = (await call("stats.series", {"series": "commands", **window, "group_by": "1m"}))["result"]
    assert len(fine["buckets"]) == 10

    assert code(await call("stats.series", {"series": "commands", **window, "group_by": "1x"})) == 12022
    assert code(await call("stats.series", {"series": "commands", "since": window["until"],
                                            "until": window["since"]})) == 12022
    assert code(await call("stats.series", {"series": "commands", **window, "group_by": "1s",
                                            "until": (start + timedelta(days=1)).isoformat()})) == 12022
    naive = {**window, "since": start.replace(tzinfo=None).isoformat()}
    assert code(await call("stats.series", {"series": "commands", **naive})) == 12022


async def test_version_config_grafana(call: Any, settings: Any) -> None:
    from importlib.metadata import version

    v = (await call("version.get"))["result"]["Version"]
    assert [v["major"], v["minor"], v["patch"]] == [int(p) for p in version("luna-admin-bus").split(".")]
    config = (await call("config.get"))["result"]
    text = json.dumps(config)
    assert config["prefix"] == settings.prefix and config["amqp"]["prefetch"] == settings.amqp.prefetch
    for secret in (settings.amqp.url.get_secret_value(), settings.mongo.url.get_secret_value()):
        assert secret not in text
    assert "url" not in config["amqp"] and "url" not in config["mongo"]
    assert "guest:" not in text
    # no password field anywhere (the `passwords` section holds argon2id parameters only)
    assert not [k for k in _keys(config) if k == "password" or k.endswith("_password")]
    assert set(config["passwords"]) == {"time_cost", "memory_kib", "parallelism", "workers", "nice"}
    assert (await call("grafana.get"))["result"]["grafana_url"].startswith("http")


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in [k, *_keys(v)]]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []
