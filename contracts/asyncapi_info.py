"""The AsyncAPI document's info, servers, channels and operations, from the registry and topology."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.asyncapi_messages import AMQP_BINDING, KAFKA_BINDING
from contracts.errors import ERROR_TEXTS
from contracts.registry import CommandSpec
from contracts.topology import Topology

Obj = dict[str, Any]
# The contract's own version: `api` of `version.get`. Each command evolves through its own `version`.
API_VERSION = "1.0.0"

DESCRIPTION = """\
The LUNA PLATFORM administration service as an event-driven service: every operation is a JSON
**command** on RabbitMQ, and every answer a **result** event on Kafka.

## Point of view

As AsyncAPI 3 intends, this document describes the application **luna-admin-bus** itself:
its `receive` operations are the commands it consumes from the `{exchange}`
exchange, its `send` operations what it produces on Kafka. An upstream service does the
mirror image: it *sends* (publishes) commands to the exchange and *receives* (consumes)
`{results}`, `{events}` and `{progress}`.
Each command's operation names its result as its `reply`.

## Sending a command

Publish the command envelope as the message body to the topic exchange `{exchange}`
with the command type as routing key, `content_type=application/json`,
`message_id` = `command_id` and `type` = the command type.
`version` selects the payload version (default 1). Set the application header `account_id` to
the account the command is about (each command's `headers` say when it matters): one account's
commands are applied in the order published, different accounts' concurrently.

- Exactly one result per command appears on `{results}`, with the same `command_id`
  and your `correlation_id`; its `type` is `<command type>.result`. `status` is `ok` with
  `result`, or `error` with `error` (`server_error`: `error_code` and `detail`) and `result` null.
- A command published with the AMQP properties `reply_to` and `correlation_id` also gets the
  same result JSON as a direct reply.
- Publishing the same `command_id` again has one effect and re-sends the same result (same
  `event_id`). Ids a command creates are derived from its `command_id` when not given.
- Mutations also emit domain events on `{events}`; long tasks report progress on
  `{progress}`. Deduplicate on `event_id`.

The server addresses below are local defaults; the names use the prefix `luna-admin`, which a
deployment may change.

## Error codes

| error_code | meaning |
|---:|---|
"""

SERVERS: Obj = {
    "rabbitmq": {
        "host": "127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0.9.1", "title": "RabbitMQ",
        "description": ("Local default (deploy/local); a deployment sets its own with `LUNA_AMQP__URL`. "
                        "Commands in."),
    },
    "kafka": {
        "host": "127.0.0.1:9092", "protocol": "kafka", "title": "Kafka",
        "description": ("Local default (deploy/local); a deployment sets its own with "
                        "`LUNA_KAFKA__BOOTSTRAP`. Results, domain events and task progress out."),
    },
}


def info() -> Obj:
    topo = Topology()
    text = DESCRIPTION.format(exchange=topo.commands_exchange, results=topo.results_topic,
                              events=topo.events_topic, progress=topo.task_progress_topic)
    table = "".join(f"| {int(code)} | {ERROR_TEXTS[code]} |\n" for code in sorted(ERROR_TEXTS))
    return {"title": "luna-admin-bus", "version": API_VERSION, "description": text + table}


def channels(topo: Topology) -> Obj:
    """The commands exchange and the three topics, without their messages."""
    kafka = [{"$ref": "#/servers/kafka"}]
    return {
        "commands": {
            "address": topo.commands_exchange, "title": "Commands",
            "description": ("The topic exchange that takes every command, routed by the command type "
                            "to one durable quorum queue per area. A type no queue takes is answered "
                            "with error 12021."),
            "servers": [{"$ref": "#/servers/rabbitmq"}],
            "bindings": {"amqp": {"is": "routingKey", "bindingVersion": AMQP_BINDING, "exchange": {
                "name": topo.commands_exchange, "type": "topic", "durable": True, "autoDelete": False,
                "vhost": "/"}}},
        },
        "results": _topic(topo.results_topic, "Results", kafka,
                          "One result per command, `ok` or `error`, keyed by account id or command id."),
        "events": _topic(topo.events_topic, "Domain events", kafka,
                         "Domain facts for analytics (account.created, account.blocked, ...)."),
        "task-progress": _topic(topo.task_progress_topic, "Task progress", kafka,
                                "`task_info` events of long tasks, keyed by task id, numbered per task."),
    }


def _topic(name: str, title: str, servers: list[Obj], description: str) -> Obj:
    return {"address": name, "title": title, "description": description, "servers": servers,
            "bindings": {"kafka": {"topic": name, "bindingVersion": KAFKA_BINDING}}}


def operations(commands: Mapping[str, CommandSpec], messages: Mapping[str, Mapping[str, Obj]]) -> Obj:
    """One `receive` per command, with its result as reply; one `send` per Kafka topic."""
    ops: Obj = {}
    for spec in commands.values():
        ops[spec.name] = {
            "action": "receive", "channel": {"$ref": "#/channels/commands"}, "title": spec.name,
            "summary": messages["commands"][spec.name]["summary"],
            "messages": [{"$ref": f"#/channels/commands/messages/{spec.name}"}],
            "reply": {"channel": {"$ref": "#/channels/results"},
                      "messages": [{"$ref": f"#/channels/results/messages/{spec.name}.result"}]},
            # cc: the routing key to publish with; ack: the service acks once the effect is durable.
            "bindings": {"amqp": {"cc": [spec.name], "ack": True, "bindingVersion": AMQP_BINDING}},
        }
    for op, channel, summary in (("sendResult", "results", "One result per command."),
                                 ("sendDomainEvent", "events", "Domain facts of mutations."),
                                 ("sendTaskProgress", "task-progress", "Progress of long tasks.")):
        ops[op] = {"action": "send", "channel": {"$ref": f"#/channels/{channel}"}, "summary": summary,
                   "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}
                                for name in messages[channel]]}
    return ops
