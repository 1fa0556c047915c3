"""The `luna-admin` CLI as a user runs it: a real process against the real servers, with the
service of the test running in this process under the test's names."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from typing import Any

import aio_pika

from service.settings import Settings


async def consumers_on(settings: Settings, queue: str) -> int:
    conn = await aio_pika.connect(settings.amqp.url.get_secret_value())
    async with conn:
        q = await (await conn.channel()).declare_queue(queue, passive=True)
        return int(q.declaration_result.consumer_count or 0)


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNA_")}
    env.update({"LUNA_PREFIX": settings.prefix, "LUNA_MONGO__DATABASE": settings.mongo.database,
                "LUNA_MONGO__URL": settings.mongo.url.get_secret_value(),
                "LUNA_AMQP__URL": settings.amqp.url.get_secret_value(),
                "LUNA_KAFKA__BOOTSTRAP": settings.kafka.bootstrap, "LUNA_HTTP__PORT": "0", **extra})
    return env


async def cli(settings: Settings, *args: str, timeout_s: float = 120, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", *args, env=_env(settings, **env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_send_prints_the_result_and_exits_by_status(service: Any, settings: Settings) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@x.io"
    payload = json.dumps({"email": email, "password": "pass-word-1", "organization_name": "CLI"})
    rc, out, err = await cli(settings, "send", "account.create", "--payload", payload)
    assert rc == 0, err
    created = json.loads(out)
    assert created["status"] == "ok" and created["result"]["email"] == email
    assert await service.db.accounts.count_documents({"email_lower": email}) == 1

    missing = json.dumps({"account_id": str(uuid.uuid4())})
    rc, out, _ = await cli(settings, "send", "account.get", "--payload", missing)
    assert rc == 1 and json.loads(out)["error"]["error_code"] == 11002
    rc, _, err = await cli(settings, "send", "account.get", "--payload", "{nope")
    assert rc == 2 and "not JSON" in err


async def test_send_payload_from_a_file(service: Any, settings: Settings, tmp_path: Any) -> None:
    f = tmp_path / "get.json"
    f.write_text(json.dumps({"account_id": str(uuid.uuid4())}))
    rc, out, _ = await cli(settings, "send", "account.get", "--payload", f"@{f}")
    assert rc == 1 and json.loads(out)["error"]["error_code"] == 11002


async def test_unreachable_server_is_one_line_and_exit_3(service: Any, settings: Settings) -> None:
    rc, out, err = await cli(settings, "send", "version.get", LUNA_AMQP__URL="amqp://guest:guest@127.0.0.1:1/",
                             LUNA_KAFKA__BOOTSTRAP="127.0.0.1:1")
    assert rc == 3, (out, err)
    assert "unreachable" in err and "Traceback" not in err


async def test_tail_prints_json_lines(service: Any, settings: Settings, call: Any) -> None:
    await call("version.get")
    await call("account.get", {"account_id": str(uuid.uuid4())})
    rc, out, err = await cli(settings, "tail", "results", "--from-beginning", "--count", "2")
    assert rc == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    # three partitions: the order across them is Kafka's, not the publish order
    assert sorted(rec["value"]["type"] for rec in lines) == ["account.get.result", "version.get.result"]
    assert all(rec["headers"]["event_id"] == rec["value"]["event_id"] for rec in lines)


async def test_dlq_list_and_replay(service: Any, settings: Settings) -> None:
    rc, out, err = await cli(settings, "dlq", "list")
    assert rc == 0, err
    assert json.loads(out) == {"messages": [], "count": 0}
    rc, out, err = await cli(settings, "dlq", "replay", "--all")
    assert rc == 0, err
    assert json.loads(out) == {"replayed": 0}
    rc, _, err = await cli(settings, "dlq", "replay")
    assert rc == 2 and "--all" in err


async def test_task_watch_follows_a_task_to_its_end(service: Any, settings: Settings, call: Any) -> None:
    created = await call("account.create", {"email": f"w-{uuid.uuid4().hex[:8]}@x.io",
                                            "password": "pass-word-1", "organization_name": "W"})
    account_id = created["result"]["account_id"]
    started = await call("task.gc.start", {"target": "account", "target_id": account_id})
    task_id = started["result"]["task_info"]["task_id"]
    rc, out, err = await cli(settings, "task", "watch", task_id, "--timeout", "90")
    assert rc == 0, err
    final = json.loads(out.strip().splitlines()[-1])
    assert final["task_id"] == task_id and final["status"] == "done" and final["events"] >= 2
    doc = await service.db.tasks.find_one({"_id": task_id})
    assert doc["status"] == "done"


async def test_contract_export_check_and_services_status(settings: Settings) -> None:
    rc, _, err = await cli(settings, "contract", "export", "--check")
    assert rc == 0, err
    rc, _, err = await cli(settings, "docs", "export", "--check")
    assert rc == 0, err
    rc, out, err = await cli(settings, "services", "status")
    assert rc == 0, out + err
    assert out.count(": up") == 3


async def test_relay_and_consume_role_commands(service: Any, settings: Settings, poll: Any) -> None:
    """`luna-admin relay` takes part in the relay lease; `luna-admin consume` joins the queues;
    both exit 0 on SIGTERM."""
    queue = service.topology.queue("accounts")
    before = await consumers_on(settings, queue)
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-m", "service.cli", role,
                                                  env=_env(settings), stderr=asyncio.subprocess.DEVNULL)
             for role in ("relay", "consume")]
    try:
        async def consuming() -> bool:
            return await consumers_on(settings, queue) == before + 1

        await poll(consuming, timeout_s=60)
        lease = await service.db.leases.find_one({"_id": "outbox-relay"})
        assert lease is not None  # the in-process relay leads; the new one stands by
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(p.wait(), 60) for p in procs]
    assert codes == [0, 0]
    assert await consumers_on(settings, queue) == before


async def test_role_command_consumes_then_stops_on_sigterm(service: Any, settings: Settings,
                                                            poll: Any) -> None:
    queue = service.topology.task_parts_queue
    before = await consumers_on(settings, queue)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "service.cli", "work",
                                                env=_env(settings), stderr=asyncio.subprocess.PIPE)
    try:
        async def joined() -> bool:
            return await consumers_on(settings, queue) == before + 1

        await poll(joined, timeout_s=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        except TimeoutError:
            proc.kill()
            _, err = await proc.communicate()
            raise AssertionError(f"no exit 60 s after SIGTERM:\n{err.decode()[-3000:]}") from None
    assert proc.returncode == 0, err.decode()[-2000:]
    assert await consumers_on(settings, queue) == before
