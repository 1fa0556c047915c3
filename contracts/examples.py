"""Examples for the AsyncAPI document: a few written by hand, every other one built from the schema.

`PAYLOADS` and `RESULTS` are keyed by command type. A command without an entry gets a value built
from its model's JSON Schema (`from_schema`): required fields only, deterministic ids and times.
Either way the example must pass the pydantic model, so a new command whose rules the schema cannot
show (two fields that exclude each other, an order between times) fails the export and its test,
and gets an entry here.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts import ids
from contracts.envelope import ResultEvent
from contracts.registry import CommandSpec

EXAMPLE_TIME = "2026-12-03T10:00:00Z"
CORRELATION_ID = "req-0001"


def example_id(name: str) -> str:
    """The same uuid wherever a field of this name appears, so examples agree with each other."""
    return str(uuid.uuid5(ids.NAMESPACE, f"example:{name}"))


# Written by hand where a cross-field rule needs it (marked), or where the built value would mislead.
PAYLOADS: dict[str, dict[str, Any]] = {
    "account.create": {"email": "ops@example.com", "password": "correct-horse-7",
                       "organization_name": "Example Org"},
    "account.list": {"page": 1, "page_size": 10, "email": "example.com", "blocked": False},
    "token.create": {"account_id": example_id("account_id"), "token_data": "ci pipeline"},
    "list.attach": {"list_id": example_id("list_id"),  # rule: person_ids or face_ids
                    "person_ids": [example_id("person_id")]},
    "list.detach": {"list_id": example_id("list_id"),  # rule: person_ids or face_ids
                    "person_ids": [example_id("person_id")]},
    "face.create": {"account_id": example_id("account_id"),  # rule: image or sample
                    "image": "iVBORw0KGgo=", "person_id": example_id("person_id")},
    "stats.series": {"series": "commands", "since": "2026-12-03T09:00:00Z",  # rule: until > since
                     "until": EXAMPLE_TIME, "group_by": "1m"},
    "task.gc.start": {"target": "account", "target_id": example_id("account_id"),
                      "mode": "free_faces", "ttl_days": 7},
    "dlq.replay": {"message_ids": [example_id("command_id")], "rate": 50.0},  # rule: ids or all
}

RESULTS: dict[str, Any] = {
    "account.create": {"account_id": example_id("account_id"), "email": "ops@example.com",
                       "organization_name": "Example Org", "status": False},
}


class InvalidExample(ValueError):
    """An example its own model rejects: give the command an entry in `contracts/examples.py`."""


def checked(model: type[BaseModel], value: Any, what: str) -> Any:
    """`value` if `model` accepts it, else `InvalidExample` naming the fix."""
    try:
        model.model_validate(value)
    except ValidationError as exc:
        raise InvalidExample(f"the example of {what} fails {model.__name__}: {exc}; add one to "
                             "PAYLOADS or RESULTS in contracts/examples.py") from None
    return value


def payload(spec: CommandSpec) -> dict[str, Any]:
    value = PAYLOADS.get(spec.name) or from_schema(spec.payload.model_json_schema())
    return dict(checked(spec.payload, value, f"the {spec.name} payload"))


def result(spec: CommandSpec) -> Any:
    value = RESULTS.get(spec.name)
    if value is None:
        value = from_schema(spec.result.model_json_schema(mode="serialization"))
    return checked(spec.result, value, f"the {spec.name} result")


def command(spec: CommandSpec) -> dict[str, Any]:
    """A complete command message, as published."""
    return {"command_id": example_id(f"command:{spec.name}"), "type": spec.name,
            "version": spec.version, "issued_at": EXAMPLE_TIME, "correlation_id": CORRELATION_ID,
            "payload": payload(spec)}


def result_event(spec: CommandSpec) -> dict[str, Any]:
    """The ok result of `command(spec)`, with the event id the service derives for it."""
    command_id = example_id(f"command:{spec.name}")
    event = {"event_id": str(ids.derive(uuid.UUID(command_id), "result")), "type": f"{spec.name}.result",
             "command_id": command_id, "correlation_id": CORRELATION_ID, "status": "ok",
             "result": result(spec), "error": None, "occurred_at": EXAMPLE_TIME}
    return dict(checked(ResultEvent, event, f"the {spec.name} result event"))


def instance(model: type[BaseModel], **fixed: Any) -> dict[str, Any]:
    """An instance of an event model built from its schema, with some fields `fixed`."""
    value = from_schema(model.model_json_schema(mode="serialization")) | fixed
    return dict(checked(model, value, model.__name__))


def from_schema(schema: dict[str, Any]) -> Any:
    """A minimal value valid against a pydantic JSON Schema: required properties only."""
    return _value(schema, schema.get("$defs", {}), "")


def _value(node: dict[str, Any], defs: dict[str, Any], name: str) -> Any:
    if "$ref" in node:
        return _value(defs[node["$ref"].rsplit("/", 1)[1]], defs, name)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            options = [o for o in node[key] if o.get("type") != "null"] or node[key]
            return _value(options[0], defs, name)
    kind = node.get("type", "string" if "format" in node or "pattern" in node else None)
    if kind == "object":
        props = node.get("properties", {})
        return {k: _value(props[k], defs, k) for k in node.get("required", [])}
    if kind == "array":
        count = max(node.get("minItems", 0), min(1, node.get("maxItems", 1)))
        return [_value(node.get("items", {}), defs, name) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(node, kind)
    if kind == "boolean":
        return False
    if kind == "string":
        return _string(node, name)
    return None


def _number(node: dict[str, Any], kind: str) -> int | float:
    # 1 unless bounded otherwise (page, page_size, counts); the middle of a bounded float (progress).
    low = node.get("minimum", node.get("exclusiveMinimum", 0) + 1)
    high = node.get("maximum", low)
    return int(min(low, high)) if kind == "integer" else (low + high) / 2


_FORMATS = {"date-time": EXAMPLE_TIME, "date": EXAMPLE_TIME[:10], "duration": "PT1M",
            "base64": "ZXhhbXBsZQ==", "email": "user@example.com", "uri": "http://127.0.0.1/"}


def _string(node: dict[str, Any], name: str) -> str:
    fmt = node.get("format", "")
    if fmt == "uuid":
        return example_id(name)
    if fmt in _FORMATS:
        return _FORMATS[fmt]
    if "email" in name or "@" in node.get("pattern", ""):
        return "user@example.com"
    # Long enough for the 8-32 characters of a password, short enough for a 128-character label.
    text = "example-value"
    return (text * 20)[: max(node.get("minLength", 0), min(len(text), node.get("maxLength", len(text))))]
