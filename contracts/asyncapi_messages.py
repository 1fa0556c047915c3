"""The AsyncAPI message objects: one per command, one result per command, and the topic-level events.

Everything is driven by `contracts.registry.COMMANDS` and the `SchemaSet`: a command added to the
registry gets its command and result messages, schemas and examples without a change here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from contracts import examples
from contracts.envelope import DomainEvent, ResultEvent
from contracts.errors import ErrorCode
from contracts.registry import CommandSpec
from contracts.schema_set import SchemaSet, ref, summary

Obj = dict[str, Any]
AMQP_BINDING = "0.3.0"
KAFKA_BINDING = "0.5.0"
CORRELATION = {"$ref": "#/components/correlationIds/commandId"}
CORRELATION_IDS = {"commandId": {
    "description": "A command's `command_id`; its result and domain events carry the same value.",
    "location": "$message.payload#/command_id"}}
# What the relay puts in every Kafka record's headers (consumers.pipeline), for routing without
# parsing the value.
KAFKA_HEADERS: Obj = {
    "type": "object",
    "properties": {
        "event_id": {"type": "string", "format": "uuid", "description": "The value's `event_id`."},
        "type": {"type": "string", "description": "The value's `type`."},
        "command_id": {"type": "string", "format": "uuid", "description": "The command that caused it."},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def command(spec: CommandSpec) -> Obj:
    example = examples.command(spec)
    return {
        "name": spec.name,
        "title": f"{spec.name} command",
        "summary": summary(spec.payload),
        "contentType": "application/json",
        "payload": ref(spec.name),
        "headers": command_headers(spec),
        "correlationId": CORRELATION,
        "bindings": {"amqp": {"messageType": spec.name, "bindingVersion": AMQP_BINDING}},
        "examples": [{"name": spec.name, "summary": f"Example {spec.name} command",
                      **_command_example_headers(spec, example), "payload": example}],
    }


OWNED_IDS = ("list_id", "person_id", "face_id", "token_id")  # payload ids of things an account owns


def _account_named(spec: CommandSpec) -> str:
    """How a command names its account: "payload" (`account_id`), "owned" (an id of something an
    account owns) or "none"."""
    fields = spec.payload.model_fields
    if "account_id" in fields:
        return "payload"
    return "owned" if any(f in fields for f in OWNED_IDS) else "none"


def command_headers(spec: CommandSpec) -> Obj:
    """The AMQP application headers a publisher sets on a command: `account_id`, the ordering and
    shard key (`consumers.lanes`, the consistent-hash exchange)."""
    named = _account_named(spec)
    if named == "payload":
        text = ("The payload's `account_id`, as a string. Optional here: the service reads the "
                "payload when the header is absent. It is the shard key of `LUNA_AMQP__SHARDS`.")
    elif named == "owned":
        owned = [f"`{f}`" for f in OWNED_IDS if f in spec.payload.model_fields]
        text = (f"The account that owns the {' / '.join(owned)} this command names, as a string. Set "
                "it: one account's commands are applied in publish order and different accounts' at "
                "the same time, so a command without it runs alone in its queue (after everything "
                "before it, before everything after it): correct, but it holds up every account. It "
                "is also the shard key of `LUNA_AMQP__SHARDS`. A header naming another account "
                "weakens ordering; the service logs `account_header_mismatch` when it sees one.")
    else:
        text = ("Not needed: this command is about no single account, and runs alone in its queue "
                "(after everything before it, before everything after it).")
    return {"type": "object",
            "properties": {"account_id": {"type": "string", "format": "uuid", "description": text}}}


def result(spec: CommandSpec) -> Obj:
    example = examples.result_event(spec)
    return {
        "name": f"{spec.name}.result",
        "title": f"{spec.name} result",
        "summary": f"The result of {spec.name}: {summary(spec.result)}",
        "contentType": "application/json",
        "headers": KAFKA_HEADERS,
        "payload": ref(f"{spec.name}.result"),
        "correlationId": CORRELATION,
        "bindings": {"kafka": _key("The account id, or the command id when the result has no account.")},
        "examples": [{"name": f"{spec.name}.ok", "summary": f"{spec.name} succeeded",
                      "headers": _headers(example), "payload": example}],
    }


def rejected(schemas: SchemaSet) -> Obj:
    """Results of messages that never became a known command: no per-command schema applies."""
    example = examples.checked(ResultEvent, {
        "event_id": examples.example_id("rejected-result"), "type": "nope.nothing.result",
        "command_id": examples.example_id("rejected"), "correlation_id": None, "status": "error",
        "result": None, "occurred_at": examples.EXAMPLE_TIME,
        "error": {"error_code": int(ErrorCode.UNKNOWN_COMMAND),
                  "detail": "unknown command type 'nope.nothing'"},
    }, "the rejected result")
    return {
        "name": "rejected.result",
        "title": "Result of a rejected message",
        "summary": ("The error result of a body that is not JSON (12002), names an unknown type (12021) "
                    "or fails the envelope (12022): `type` is `<type>.result` as far as it could be read, "
                    "`unknown.result` otherwise."),
        "contentType": "application/json",
        "headers": KAFKA_HEADERS,
        "payload": ref(schemas.name(ResultEvent)),
        "correlationId": CORRELATION,
        "bindings": {"kafka": _key("The command id: from the body, else the AMQP message id, else "
                                   "derived from the body's hash.")},
        "examples": [{"name": "unknown-type", "summary": "A command type nobody handles",
                      "headers": _headers(example), "payload": example}],
    }


def domain_event(schemas: SchemaSet) -> Obj:
    data = examples.RESULTS["account.create"]
    example = examples.checked(DomainEvent, {
        "event_id": examples.example_id("account.created"), "type": "account.created",
        "command_id": examples.example_id("command:account.create"), "account_id": data["account_id"],
        "data": data, "occurred_at": examples.EXAMPLE_TIME}, "the domain event")
    return {
        "name": "domain-event",
        "title": "Domain event",
        "summary": summary(DomainEvent),
        "description": ("`type` names the fact (`account.created`, `account.blocked`, ...) and `data` "
                        "carries the object as it is after the change. Deduplicate on `event_id`: a "
                        "redelivered command re-emits the same ids."),
        "contentType": "application/json",
        "headers": KAFKA_HEADERS,
        "payload": ref(schemas.name(DomainEvent)),
        "correlationId": CORRELATION,
        "bindings": {"kafka": _key("The account id, or the command id for facts without an account.")},
        "examples": [{"name": "account.created", "summary": "An account was created",
                      "headers": _headers(example), "payload": example}],
    }


def task_progress(model: type[BaseModel], schemas: SchemaSet) -> Obj:
    example = examples.instance(model)
    return {
        "name": "task-info",
        "title": "Task progress (task_info)",
        "summary": summary(model),
        "contentType": "application/json",
        "payload": ref(schemas.name(model)),
        "bindings": {"kafka": _key("The task id: one partition keeps a task's events in order.")},
        "examples": [{"name": "task-info", "summary": "A task's progress", "payload": example}],
    }


def _key(description: str) -> Obj:
    return {"key": {"type": "string", "description": description}, "bindingVersion": KAFKA_BINDING}


def _command_example_headers(spec: CommandSpec, example: Obj) -> Obj:
    if _account_named(spec) == "none":
        return {"headers": {}}
    account = example["payload"].get("account_id") or examples.example_id("account_id")
    return {"headers": {"account_id": account}}


def _headers(event: Obj) -> Obj:
    return {"event_id": event["event_id"], "type": event["type"], "command_id": event["command_id"],
            "content-type": "application/json"}
