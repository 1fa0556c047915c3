"""The newcomer's demo: a few commands published to RabbitMQ, their results read back from Kafka."""

from __future__ import annotations

import json
import uuid

from rich.console import Console

from contracts import ids
from contracts.topology import Topology
from service.client import TopicReader, bus, envelope
from service.settings import Settings


async def run_demo(settings: Settings, console: Console) -> None:
    """Publish an account.create, a duplicate, an account.get and a non-JSON body; print results."""
    topo = Topology(settings.prefix)
    email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
    create = envelope("account.create", {"email": email, "password": "correct-horse",
                                         "organization_name": "Demo Org"})
    commands: list[tuple[str, dict[str, object] | bytes]] = [
        ("create an account", create),
        ("the same email again (case differs)", envelope("account.create", {
            "email": email.upper(), "password": "correct-horse", "organization_name": "Other"})),
        ("read it back with its stats", envelope("account.get", {
            "account_id": str(_derived_account_id(create["command_id"]))})),
        ("a body that is not JSON", b"this is not json"),
    ]
    async with bus(settings.amqp.url.get_secret_value(), topo) as client, \
            TopicReader(settings.kafka.bootstrap, topo.results_topic) as results:
        for title, cmd in commands:
            console.rule(f"[bold]{title}")
            if isinstance(cmd, bytes):
                message_id = str(uuid.uuid4())  # names the command when its body cannot
                await client.publish(cmd, routing_key="account.create", message_id=message_id)
                console.print(f"published to {topo.commands_exchange}: {cmd!r}")
                hit = await results.wait_for(command_id=message_id)
            else:
                await client.publish(cmd)
                console.print("published:", json.dumps(cmd, indent=None))
                hit = await results.wait_for(command_id=cmd["command_id"])
            console.print("[green]result from Kafka:[/green]")
            console.print_json(json.dumps(hit[0]["value"]))
        console.rule("[bold]the non-JSON body is kept in the parking queue: " + topo.parking_queue)


def _derived_account_id(command_id: object) -> uuid.UUID:
    return ids.derive(uuid.UUID(str(command_id)), "account")
