"""JSON Schemas of every wire message, built from the pydantic models of `contracts/`.

One pydantic pass over all models names each schema once (`models_json_schema` settles name clashes
between areas) with `$ref`s into `#/components/schemas`, the AsyncAPI document's namespace. Per
command it adds two message schemas named by wire type: `<type>`, the envelope with `type` fixed and
`payload` the command's model, and `<type>.result`, the result event with `result` its model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts.envelope import CommandEnvelope, DomainEvent, ResultEvent
from contracts.registry import CommandSpec

Schema = dict[str, Any]
PREFIX = "#/components/schemas/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
Mode = Literal["validation", "serialization"]


def ref(name: str) -> Schema:
    return {"$ref": PREFIX + name}


@dataclass(frozen=True)
class SchemaSet:
    """Every schema by component name, and which name holds which model."""

    schemas: dict[str, Schema]
    names: dict[tuple[type[BaseModel], Mode], str]

    def name(self, model: type[BaseModel], mode: Mode = "serialization") -> str:
        """The component name of a model's schema (payloads are named in validation mode)."""
        return self.names[(model, mode)]

    def standalone(self, name: str) -> Schema:
        """One schema as a self-contained JSON Schema document, its references under `$defs`."""
        deps: set[str] = set()
        todo = [name]
        while todo:
            for dep in _refs(self.schemas[todo.pop()]):
                if dep not in deps and dep != name:
                    deps.add(dep)
                    todo.append(dep)
        doc: Schema = {"$schema": DRAFT, **_local(self.schemas[name])}
        if deps:
            doc["$defs"] = {dep: _local(self.schemas[dep]) for dep in sorted(deps)}
        return doc


def build(commands: Mapping[str, CommandSpec], events: Iterable[type[BaseModel]]) -> SchemaSet:
    """Model schemas (payloads as accepted, results and events as sent) plus, per command, its
    command and result message schemas."""
    wanted: list[tuple[type[BaseModel], Mode]] = [(CommandEnvelope, "validation")]
    wanted += [(spec.payload, "validation") for spec in commands.values()]
    wanted += [(spec.result, "serialization") for spec in commands.values()]
    sent: list[type[BaseModel]] = [ResultEvent, DomainEvent, *events]
    wanted += [(model, "serialization") for model in sent]
    wanted = list(dict.fromkeys(wanted))
    key_map, top = models_json_schema(wanted, ref_template=PREFIX + "{model}")
    schemas: dict[str, Schema] = dict(top.get("$defs", {}))
    names = {key: str(key_map[key]["$ref"]).removeprefix(PREFIX) for key in wanted}
    for spec in commands.values():
        for name, schema in ((spec.name, _command(spec, schemas, names)),
                             (f"{spec.name}.result", _result(spec, schemas, names))):
            if name in schemas:
                raise ValueError(f"schema name {name!r} is both a model and a command message")
            schemas[name] = schema
    return SchemaSet(schemas=dict(sorted(schemas.items())), names=names)


Names = dict[tuple[type[BaseModel], Mode], str]


def _command(spec: CommandSpec, schemas: dict[str, Schema], names: Names) -> Schema:
    envelope = schemas[names[(CommandEnvelope, "validation")]]
    payload = names[(spec.payload, "validation")]
    versions = list(spec.versions)
    version: Schema = {"enum": versions, "title": "Version", "type": "integer"}
    if len(versions) > 1:
        version["description"] = (f"`payload` below is version {spec.version}; the older versions "
                                  "listed are still accepted and upgraded on arrival.")
    if 1 in versions:
        version["default"] = 1  # the envelope's default, whatever the current version is
    properties = {**envelope["properties"], "version": version, "payload": ref(payload)}
    properties["type"] = {"const": spec.name, "description": "The command type; also the routing key.",
                          "title": "Type", "type": "string"}
    required = list(envelope["required"])
    required += ["payload"] if schemas[payload].get("required") else []
    required += ["version"] if 1 not in versions else []
    return {**envelope, "description": summary(spec.payload),
            "properties": properties, "required": required, "title": f"{spec.name} command"}


def _result(spec: CommandSpec, schemas: dict[str, Schema], names: Names) -> Schema:
    event = schemas[names[(ResultEvent, "serialization")]]
    properties = dict(event["properties"])
    properties["type"] = {"const": f"{spec.name}.result", "title": "Type", "type": "string"}
    result = ref(names[(spec.result, "serialization")])
    properties["result"] = {"anyOf": [result, {"type": "null"}], "default": None, "title": "Result",
                            "description": "The command's result when `status` is ok, null on error."}
    return {**event, "description": f"The result of `{spec.name}`: {summary(spec.result)}",
            "properties": properties, "title": f"{spec.name} result"}


def summary(model: type[BaseModel]) -> str:
    """The model docstring's first paragraph, on one line."""
    return " ".join((model.__doc__ or model.__name__).strip().split("\n\n")[0].split())


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        target = node.get("$ref")
        if isinstance(target, str) and target.startswith(PREFIX):
            yield target.removeprefix(PREFIX)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _local(node: Any) -> Any:
    """A copy with component references turned into references to the document's own `$defs`."""
    if isinstance(node, dict):
        return {k: ("#/$defs/" + v.removeprefix(PREFIX) if k == "$ref" and isinstance(v, str) else
                    _local(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_local(v) for v in node]
    return node
