"""`luna-admin`: run the service, manage the local servers, watch the demo."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service import cli_bus
from service.settings import Settings

app = typer.Typer(help="luna-admin-bus: the event-driven LUNA PLATFORM administration service.",
                  no_args_is_help=True)
services = typer.Typer(help="The local RabbitMQ, Kafka and MongoDB-protocol servers (deploy/local).")
app.add_typer(services, name="services")

STACK = Path(__file__).resolve().parents[1] / "deploy" / "local" / "stack.sh"


ROLES = ("consume", "relay", "work")


@app.command()
def run(demo: bool = typer.Option(False, help="publish a few commands and print their results"),
        roles: str = typer.Option(",".join(ROLES), help="comma-separated roles to run")) -> None:
    """Run the service (every role in one process by default) until SIGINT or SIGTERM."""
    unknown = set(roles.split(",")) - set(ROLES)
    if unknown:
        raise typer.BadParameter(f"unknown roles {sorted(unknown)}; roles are {', '.join(ROLES)}")
    _start(frozenset(roles.split(",")), demo)


def _start(roles: frozenset[str], demo: bool = False) -> None:
    from service.logging import configure

    settings = Settings()
    configure(settings.log.level, settings.log.json_lines)
    try:
        with asyncio.Runner(loop_factory=_loop_factory(settings)) as runner:
            runner.run(_run(settings, roles, demo))
    except (ConnectionError, OSError) as exc:
        typer.echo(f"luna-admin: a server is unreachable: {exc}", err=True)
        raise typer.Exit(3) from None


def _loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if settings.event_loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


@app.command()
def consume() -> None:
    """Only the command consumers (scale these out; see `LUNA_AMQP__SHARDS`)."""
    _start(frozenset({"consume"}))


@app.command()
def relay() -> None:
    """Only the outbox relay (run two: one leads, the other takes over within the lease)."""
    _start(frozenset({"relay"}))


@app.command()
def work() -> None:
    """Only the task workers (the parts of long tasks)."""
    _start(frozenset({"work"}))


app.command()(cli_bus.send)
app.command()(cli_bus.tail)
app.add_typer(cli_bus.task_app, name="task")
app.add_typer(cli_bus.dlq_app, name="dlq")


async def _run(settings: Settings, roles: frozenset[str], demo: bool) -> None:
    from service.bootstrap import Service
    from service.demo import run_demo

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Service(settings, roles) as svc:
        if demo:
            await run_demo(settings, Console(stderr=True))
            Console(stderr=True).print("[bold]The service keeps running: Ctrl-C stops it.")
        stopper = asyncio.create_task(stop.wait())
        runner = asyncio.create_task(svc.wait())
        await asyncio.wait([stopper, runner], return_when=asyncio.FIRST_COMPLETED)
        _watchdog(settings.shutdown_grace_s * 2 + 30)
        for t in (stopper, runner):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t


def _watchdog(seconds: float) -> None:
    """A stop must end: should closing hang (a broker that never answers a close), the process
    exits anyway after `seconds`. Unacked messages go back to their queues; nothing is lost."""
    def expire() -> None:
        sys.stderr.write(f"luna-admin: shutdown took longer than {seconds:.0f} s; exiting\n")
        sys.stderr.flush()
        os._exit(70)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


contract = typer.Typer(help="The wire contract: AsyncAPI document and JSON Schemas.")
app.add_typer(contract, name="contract")


@contract.command("export")
def contract_export(
        check: Annotated[bool, typer.Option(help="exit 1 if the committed files are stale")] = False,
        out: Annotated[Path | None, typer.Option(help="output folder (default: contracts/)")] = None,
) -> None:
    """Write contracts/asyncapi.yaml and contracts/schemas/*.json from the models."""
    from contracts import export

    folder = out or Path(export.__file__).parent
    if check:
        stale = export.check(folder)
        for name in stale:
            typer.echo(f"stale: {name}", err=True)
        raise typer.Exit(1 if stale else 0)
    for path in export.export(folder):
        typer.echo(str(path))


docs_app = typer.Typer(help="Generated reference pages under docs/.")
app.add_typer(docs_app, name="docs")


@docs_app.command("export")
def docs_export(check: Annotated[bool, typer.Option(help="exit 1 if the committed pages are stale")] = False,
                ) -> None:
    """Write docs/commands.md and docs/configuration.md from the contract and the settings."""
    from service import docs

    if check:
        names = docs.stale()
        for name in names:
            typer.echo(f"stale: docs/{name}", err=True)
        raise typer.Exit(1 if names else 0)
    for path in docs.export():
        typer.echo(str(path))


def _stack(action: str) -> None:
    raise typer.Exit(subprocess.call(["bash", str(STACK), action], stdout=sys.stdout, stderr=sys.stderr))


@services.command("up")
def services_up() -> None:
    """Install (when missing) and start RabbitMQ, Kafka and FerretDB; wait until they answer."""
    _stack("up")


@services.command("down")
def services_down() -> None:
    """Stop the servers that `up` started (by recorded PID); leave others alone."""
    _stack("down")


@services.command("status")
def services_status() -> None:
    """Say which servers answer."""
    _stack("status")


if __name__ == "__main__":
    app()
