"""Fixtures shared by every suite.

Server addresses come from the service's own settings (environment `LUNA_...`), so the tests hit
whatever `deploy/local/stack.sh up` started. With `LUNA_TEST_CONTAINERS=1` and a Docker engine,
the official images are started through testcontainers instead (MongoDB as a one-node replica set).
Under `CI=true` an unreachable server fails the run; elsewhere the server tests are skipped with a
message saying how to start the servers.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from service.settings import Settings


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _host_port(url: str, default: int) -> tuple[str, int]:
    rest = url.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(",")[0]
    host, _, port = rest.partition(":")
    return host or "127.0.0.1", int(port or default)


def _containers() -> dict[str, str]:
    """Start the official images; return the environment that points the settings at them."""
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    mongo = MongoDbContainer("mongo:7.0").with_command("--replSet rs0 --bind_ip_all")
    mongo.start()
    mongo.exec(["mongosh", "--quiet", "-u", mongo.username, "-p", mongo.password, "--eval",
                "rs.initiate({_id:'rs0',members:[{_id:0,host:'localhost:27017'}]})"])
    rabbit = RabbitMqContainer("rabbitmq:3.13-management").start()
    kafka = KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft().start()
    mongo_url = mongo.get_connection_url() + "/?directConnection=true"
    amqp_url = (f"amqp://{rabbit.username}:{rabbit.password}@{rabbit.get_container_host_ip()}:"
                f"{rabbit.get_exposed_port(5672)}/")
    return {"LUNA_MONGO__URL": mongo_url, "LUNA_AMQP__URL": amqp_url,
            "LUNA_KAFKA__BOOTSTRAP": kafka.get_bootstrap_server()}


@pytest.fixture(scope="session")
def base_settings() -> Iterator[Settings]:
    """Settings pointing at real, reachable servers (or the test fails/skips as described above)."""
    if os.environ.get("LUNA_TEST_CONTAINERS") == "1":
        os.environ.update(_containers())
    settings = Settings()
    targets = {
        "MongoDB": _host_port(settings.mongo.url.get_secret_value(), 27017),
        "RabbitMQ": _host_port(settings.amqp.url.get_secret_value(), 5672),
        "Kafka": _host_port(settings.kafka.bootstrap, 9092),
    }
    down = [f"{name} at {h}:{p}" for name, (h, p) in targets.items() if not _answers(h, p)]
    if down:
        msg = f"servers not reachable: {', '.join(down)}; start them with `luna-admin services up`"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    yield settings


@pytest.fixture
async def settings(base_settings: Settings) -> AsyncIterator[Settings]:
    """Per-test names: its own database, exchanges, queues and topics on the shared servers, all
    removed afterwards."""
    tag = uuid.uuid4().hex[:10]
    s = base_settings.model_copy(update={
        "prefix": f"t-{tag}",
        "mongo": base_settings.mongo.model_copy(update={"database": f"t_{tag}"}),
        "http": base_settings.http.model_copy(update={"port": 0, "sample_s": 0.5}),  # many per process
    })
    yield s
    from contracts.topology import Topology

    await delete_topics(s.kafka.bootstrap, Topology(s.prefix).topics)
    await delete_amqp_objects(s.amqp.url.get_secret_value(), s.prefix)
    await drop_database(s)


async def drop_database(s: Settings) -> None:
    """The test's database, if a process of the test created it (FerretDB keeps every database in
    its metadata registry; hundreds left behind slow it down)."""
    from storage.mongo import connect

    client = connect(s.mongo.url.get_secret_value())
    try:
        await client.drop_database(s.mongo.database)
    except Exception as exc:  # cleanup only
        print(f"could not drop {s.mongo.database}: {exc!r}")
    finally:
        await client.close()


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[Any]:
    """The service running in this process, with this test's names; its database dropped after."""
    from service.bootstrap import Service

    async with Service(settings) as svc:
        yield svc
        assert svc.db is not None
        await svc.db.client.drop_database(svc.db.name)


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """Remove a test's topics (those that exist): thousands left behind slow the one-node Kafka's
    controller down until topic creation takes minutes (seen here after a day of runs)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        existing = set(await admin.list_topics()) & set(topics)
        if existing:
            await admin.delete_topics(sorted(existing), timeout_ms=10000)
    except Exception as exc:  # cleanup only: a failure here must not fail the test
        print(f"could not delete topics {topics}: {exc}")
    finally:
        await admin.close()


async def delete_amqp_objects(amqp_url: str, prefix: str) -> None:
    """Remove a test's queues and exchanges (`<prefix>.*`) through the management API: left
    behind, their quorum-queue state slows RabbitMQ's start and recovery down run after run."""
    import aiohttp
    import yarl

    amqp = yarl.URL(amqp_url)
    port = os.environ.get("LUNA_TEST_RABBITMQ_MANAGEMENT_PORT", "15672")
    vhost = quote(amqp.path[1:] or "/", safe="")
    api = f"http://{amqp.host or '127.0.0.1'}:{port}/api"
    auth = {"Authorization": aiohttp.encode_basic_auth(amqp.user or "guest", amqp.password or "guest")}
    pattern = quote(f"^{re.escape(prefix)}\\.", safe="")
    try:
        async with aiohttp.ClientSession(headers=auth, timeout=aiohttp.ClientTimeout(total=20)) as http:
            for kind in ("queues", "exchanges"):
                # the name filter applies to paged listings only
                url = f"{api}/{kind}/{vhost}?page=1&page_size=500&name={pattern}&use_regex=true"
                async with http.get(yarl.URL(url, encoded=True)) as listing:
                    listing.raise_for_status()
                    names = [item["name"] for item in (await listing.json())["items"]]
                for name in [n for n in names if n.startswith(f"{prefix}.")]:
                    target = yarl.URL(f"{api}/{kind}/{vhost}/{quote(name, safe='')}", encoded=True)
                    async with http.delete(target) as deleted:
                        if deleted.status not in (204, 404):
                            deleted.raise_for_status()
    except Exception as exc:  # cleanup only
        print(f"could not delete the broker objects of {prefix}: {exc!r}")


async def eventually(check: Any, timeout_s: float = 20.0, interval_s: float = 0.1) -> Any:
    """Poll an async `check` until it returns a truthy value or the deadline passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(interval_s)  # the polling interval, under a deadline


@pytest.fixture
def poll() -> Any:
    """`await poll(check)`: wait on a condition with a deadline, never a bare sleep."""
    return eventually


@pytest.fixture
async def client(service: Any, settings: Settings) -> AsyncIterator[Any]:
    """A publisher on this test's command exchange (the service declared it)."""
    from service.client import bus

    async with bus(settings.amqp.url.get_secret_value(), service.topology) as c:
        yield c


@pytest.fixture
async def results(service: Any, settings: Settings) -> AsyncIterator[Any]:
    """Reader of this test's results topic, from its beginning."""
    from service.client import TopicReader

    async with TopicReader(settings.kafka.bootstrap, service.topology.results_topic) as reader:
        yield reader


@pytest.fixture
async def events(service: Any, settings: Settings) -> AsyncIterator[Any]:
    """Reader of this test's domain events topic, from its beginning."""
    from service.client import TopicReader

    async with TopicReader(settings.kafka.bootstrap, service.topology.events_topic) as reader:
        yield reader


@pytest.fixture
def call(client: Any, results: Any) -> Any:
    """`await call(type, payload)`: publish a command, return its result event's value."""
    from service.client import envelope

    async def _call(type_: str, payload: dict[str, Any] | None = None, *, version: int = 1,
                    command_id: uuid.UUID | None = None) -> dict[str, Any]:
        cmd = envelope(type_, payload or {}, command_id, version)
        await client.publish(cmd)
        hits = await results.wait_for(command_id=cmd["command_id"])
        return dict(hits[0]["value"])

    return _call


def error_code(result: dict[str, Any]) -> int | None:
    """The error code of a result value, None when it is ok."""
    return None if result["error"] is None else int(result["error"]["error_code"])


@pytest.fixture
def code() -> Any:
    return error_code
