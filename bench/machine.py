"""What the figures were measured on: cores, load, library and server versions.

Every report carries this, because a number without its machine is not comparable to anything.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import aio_pika
from pymongo import AsyncMongoClient

from bench.config import Endpoints

LIBRARIES = ("luna-admin-bus", "aio-pika", "aiormq", "aiokafka", "pymongo", "pydantic", "pydantic-core",
             "argon2-cffi", "structlog", "faststream", "pyinstrument", "orjson", "uvloop")


def _lib_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def _kafka_version() -> str:
    """Best effort: the running broker's jar folder names its version (no Kafka API reports it)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "kafka.Kafka" in cmdline:
            found = re.search(r"kafka[-_](\d+\.\d+\.\d+)", cmdline)
            return found.group(1) if found else "unknown"
    return "unknown"


async def _server_versions(ep: Endpoints) -> dict[str, str]:
    out: dict[str, str] = {"kafka": _kafka_version()}
    conn = await aio_pika.connect(ep.amqp_url)
    try:
        props = conn.transport.connection.server_properties  # type: ignore[union-attr]
        out["rabbitmq"] = str(props.get("version", "unknown"))
    finally:
        await conn.close()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ep.mongo_url)
    try:
        info = await client.admin.command("buildInfo")
        out["mongodb_protocol"] = str(info.get("version"))
        if "ferretdbVersion" in info:
            out["ferretdb"] = str(info["ferretdbVersion"])
    finally:
        await client.close()
    return out


async def describe(ep: Endpoints) -> dict[str, Any]:
    """The machine section of a report."""
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": _lib_versions(),
        "servers": await _server_versions(ep),
    }


def headline(machine: dict[str, Any]) -> str:
    libs = machine["libraries"]
    servers = machine["servers"]
    return (f"machine: {machine['cores']} cores ({machine['cores_usable']} usable), "
            f"{machine['memory_gib']} GiB, load {machine['loadavg_at_start']}; Python {machine['python']}; "
            + ", ".join(f"{k} {v}" for k, v in libs.items()) + "; "
            + ", ".join(f"{k} {v}" for k, v in servers.items()))
