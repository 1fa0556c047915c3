"""The CLI's bus commands: `send`, `tail`, `task watch`, `dlq list|replay`.

They talk to the running service only through the bus, as an upstream service would: a command
published to RabbitMQ, its result read back from Kafka. An unreachable server is one clear line on
stderr and exit code 3, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from contracts.topology import Topology
from service.client import TopicReader, bus, envelope
from service.settings import Settings

UNREACHABLE = 3
STREAMS = ("results", "events", "task-progress")
FINAL = {"done": 0, "failed": 1, "cancelled": 2}

task_app = typer.Typer(help="Long tasks.")
dlq_app = typer.Typer(help="Dead-lettered messages (the dlq.list and dlq.replay commands).")


def _payload(text: str) -> dict[str, Any]:
    """`--payload '{...}'` or `--payload @file.json`."""
    raw = Path(text[1:]).read_text() if text.startswith("@") else text
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("the payload must be a JSON object")
    return value


def _guarded(coro: Callable[[], Coroutine[Any, Any, int]]) -> None:
    """Run a bus coroutine; connection failures become one line and exit code 3."""
    try:
        code = asyncio.run(coro())
    except (ConnectionError, OSError, TimeoutError) as exc:
        typer.echo(f"luna-admin: a server is unreachable or did not answer: {exc}", err=True)
        raise typer.Exit(UNREACHABLE) from None
    except Exception as exc:  # aiokafka's KafkaConnectionError and friends are not OSErrors
        if type(exc).__module__.startswith(("aiokafka", "aiormq", "aio_pika", "pamqp")):
            typer.echo(f"luna-admin: a server is unreachable: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(UNREACHABLE) from None
        raise
    raise typer.Exit(code)


async def request(settings: Settings, type_: str, payload: dict[str, Any],
                  timeout_s: float = 30.0) -> dict[str, Any]:
    """Publish one command and return its result event's value from the results topic."""
    topo = Topology(settings.prefix)
    cmd = envelope(type_, payload, uuid.uuid4())
    async with TopicReader(settings.kafka.bootstrap, topo.results_topic, from_end=True) as results, \
            bus(settings.amqp.url.get_secret_value(), topo) as client:
        await client.publish(cmd)
        hits = await results.wait_for(command_id=cmd["command_id"], timeout_s=timeout_s)
    return dict(hits[0]["value"])


def _print(value: Any, console: Console) -> None:
    if sys.stdout.isatty():
        console.print_json(json.dumps(value))
    else:
        print(json.dumps(value), flush=True)


def send(type_: Annotated[str, typer.Argument(metavar="TYPE", help="command type, e.g. account.get")],
         payload: Annotated[str, typer.Option(help="JSON object, or @file.json")] = "{}",
         timeout: Annotated[float, typer.Option(help="seconds to wait for the result")] = 30.0) -> None:
    """Publish a command, wait for its result on Kafka and print it. Exit 0 when ok, 1 on an error
    result, 3 when a server is unreachable."""
    body = _payload(payload)

    async def go() -> int:
        value = await request(Settings(), type_, body, timeout)
        _print(value, Console())
        return 0 if value["status"] == "ok" else 1

    _guarded(go)


def tail(stream: Annotated[str, typer.Argument(help="results, events, task-progress, or a topic name")],
         from_beginning: Annotated[bool, typer.Option(help="start at the topic's beginning")] = False,
         count: Annotated[int, typer.Option(help="stop after this many records (0: follow)")] = 0) -> None:
    """Follow a Kafka topic: pretty JSON on a terminal, JSON lines otherwise."""
    settings = Settings()
    topo = Topology(settings.prefix)
    topic = topo.topic(stream) if stream in STREAMS else stream
    console = Console()

    async def go() -> int:
        seen = 0
        async with TopicReader(settings.kafka.bootstrap, topic, from_end=not from_beginning) as reader:
            while not count or seen < count:
                for rec in await reader.poll():
                    _print(rec if not sys.stdout.isatty() else rec["value"], console)
                    seen += 1
                    if count and seen >= count:
                        break
                reader.seen.clear()  # following forever must not grow memory
        return 0

    _guarded(go)


@task_app.command("watch")
def task_watch(task_id: Annotated[str, typer.Argument(help="the task's id")],
               timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 3600.0,
               ) -> None:
    """A live progress bar fed by the task's `task_info` events on the task-progress topic (read
    from the topic's beginning, so a task that already ended shows its end). Exit 0 when done,
    1 failed, 2 cancelled."""
    settings = Settings()
    topo = Topology(settings.prefix)
    console = Console(stderr=True)

    async def go() -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        status, last_seq = "in_progress", -1
        with Progress(TextColumn("task {task.fields[tid]}"), BarColumn(),
                      TextColumn("{task.percentage:>5.1f}%"),
                      TextColumn("{task.fields[status]} errors={task.fields[errors]}"), TimeElapsedColumn(),
                      console=console, transient=False) as bar:
            row = bar.add_task("task", total=1.0, tid=task_id[:8], status="waiting", errors=0)
            async with TopicReader(settings.kafka.bootstrap, topo.task_progress_topic) as reader:
                while status == "in_progress":
                    if loop.time() > deadline:
                        raise TimeoutError(f"task {task_id} still in progress after {timeout} s")
                    for rec in await reader.poll():
                        value = rec["value"]
                        if value.get("task_id") != task_id or value["seq"] <= last_seq:
                            continue
                        last_seq, info = value["seq"], value["task"]["task_info"]
                        status = info["status"]
                        bar.update(row, completed=info["progress"], status=status, errors=info["error_count"])
                    reader.seen.clear()
        print(json.dumps({"task_id": task_id, "status": status, "events": last_seq + 1}), flush=True)
        return FINAL.get(status, 1)

    _guarded(go)


def _command(type_: str, payload: dict[str, Any]) -> None:
    async def go() -> int:
        value = await request(Settings(), type_, payload)
        _print(value["result"] if value["status"] == "ok" else value["error"], Console())
        return 0 if value["status"] == "ok" else 1

    _guarded(go)


@dlq_app.command("list")
def dlq_list(queue: Annotated[str | None, typer.Option(help="only this original queue")] = None,
             limit: Annotated[int, typer.Option(help="at most this many")] = 100) -> None:
    """Dead-lettered messages, oldest first, with reason, attempts and failure times."""
    _command("dlq.list", {"queue": queue, "limit": limit} if queue else {"limit": limit})


@dlq_app.command("replay")
def dlq_replay(message_ids: Annotated[list[str] | None, typer.Argument(help="message ids")] = None,
               all_: Annotated[bool, typer.Option("--all", help="replay every waiting message")] = False,
               rate: Annotated[float | None, typer.Option(help="messages per second")] = None) -> None:
    """Send dead letters back through the normal idempotent path (safe to repeat)."""
    if bool(message_ids) == all_:
        raise typer.BadParameter("give message ids or --all")
    payload: dict[str, Any] = {"all": True} if all_ else {"message_ids": message_ids}
    if rate:
        payload["rate"] = rate
    _command("dlq.replay", payload)
