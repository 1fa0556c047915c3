"""The AsyncAPI 3.0 document and the JSON Schemas of every message, generated from `contracts/`.

`python -m contracts.export` writes `contracts/asyncapi.yaml` and `contracts/schemas/*.json`;
`--check` only compares them with a fresh export and exits 1 when they differ. Output is
deterministic (no times, stable order), so the committed copy can be tested for staleness.
Everything comes from `contracts.registry.COMMANDS` and `contracts.topology.Topology`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts import asyncapi_info, schema_set, yaml_text
from contracts import asyncapi_messages as msg
from contracts.envelope import CommandEnvelope, DomainEvent, ResultEvent
from contracts.registry import COMMANDS
from contracts.topology import Topology

OUT_DIR = Path(__file__).resolve().parent
GENERATED = "Generated from contracts/ by `python -m contracts.export`; do not edit."
# Names a task progress event model may have in `contracts.tasks`, looked up rather than imported so
# that the document follows that module as it appears and grows.
TASK_EVENT_NAMES = ("TaskInfoEvent", "TaskProgressEvent")
Obj = dict[str, Any]


def task_progress_model() -> type[BaseModel]:
    """The model of a `luna-admin.task-progress` record, or `DomainEvent` until one exists."""
    try:
        module = importlib.import_module("contracts.tasks")
    except ModuleNotFoundError as exc:
        if exc.name != "contracts.tasks":
            raise
        return DomainEvent
    for name in TASK_EVENT_NAMES:
        model = getattr(module, name, None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model
    return DomainEvent


def build_asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the service, as plain JSON data."""
    return _build()[0]


def _build() -> tuple[Obj, schema_set.SchemaSet]:
    topo, task_model = Topology(), task_progress_model()
    schemas = schema_set.build(COMMANDS, [task_model])
    commands = {spec.name: msg.command(spec) for spec in COMMANDS.values()}
    results = {f"{spec.name}.result": msg.result(spec) for spec in COMMANDS.values()}
    results["rejected.result"] = msg.rejected(schemas)
    channel_messages = {"commands": commands, "results": results,
                        "events": {"domain-event": msg.domain_event(schemas)},
                        "task-progress": {"task-info": msg.task_progress(task_model, schemas)}}
    channels = asyncapi_info.channels(topo)
    for channel, messages in channel_messages.items():
        channels[channel]["messages"] = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    doc: Obj = {
        "asyncapi": "3.0.0",
        "info": asyncapi_info.info(),
        "defaultContentType": "application/json",
        "servers": asyncapi_info.SERVERS,
        "channels": channels,
        "operations": asyncapi_info.operations(COMMANDS, channel_messages),
        "components": {
            "schemas": schemas.schemas,
            "messages": {k: v for messages in channel_messages.values() for k, v in messages.items()},
            "correlationIds": msg.CORRELATION_IDS,
        },
    }
    return doc, schemas


def render() -> dict[str, str]:
    """Every generated file's text by its path relative to the output folder."""
    doc, schemas = _build()
    files = {"asyncapi.yaml": f"# {GENERATED}\n" + yaml_text.dump(doc)}
    singles = [schemas.name(CommandEnvelope, "validation"), schemas.name(ResultEvent),
               schemas.name(DomainEvent), schemas.name(task_progress_model())]
    names = [*COMMANDS, *(f"{name}.result" for name in COMMANDS), *dict.fromkeys(singles)]
    for name in names:
        schema = {"$comment": GENERATED, **schemas.standalone(name)}
        text = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False)
        files[f"schemas/{name}.json"] = text + "\n"
    return files


def export(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write `asyncapi.yaml` and `schemas/*.json` under `out_dir`; remove schema files of messages
    that no longer exist. Returns the files written."""
    files = render()
    written = []
    for rel, text in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    for path in _stale(out_dir, files):
        path.unlink()
    return written


def check(out_dir: Path = OUT_DIR) -> list[str]:
    """Paths under `out_dir` that differ from a fresh export: changed, missing or left over."""
    files = render()
    differ = [rel for rel, text in files.items()
              if not (out_dir / rel).is_file() or (out_dir / rel).read_text(encoding="utf-8") != text]
    return differ + [str(path.relative_to(out_dir)) for path in _stale(out_dir, files)]


def _stale(out_dir: Path, files: dict[str, str]) -> list[Path]:
    folder = out_dir / "schemas"
    return sorted(p for p in folder.glob("*.json") if f"schemas/{p.name}" not in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.export",
                                     description="Write (or check) contracts/asyncapi.yaml and schemas/.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are not current")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: contracts/)")
    args = parser.parse_args(argv)
    if args.check:
        differ = check(args.out)
        for rel in differ:
            print(f"{args.out / rel}: not current", file=sys.stderr)
        if differ:
            print("run `python -m contracts.export` and commit the result", file=sys.stderr)
        return 1 if differ else 0
    written = export(args.out)
    print(f"wrote {len(written)} files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
