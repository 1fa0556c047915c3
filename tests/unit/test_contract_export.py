"""The generated AsyncAPI document and JSON Schemas: current, complete, and with valid examples."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from contracts import examples, export, yaml_text
from contracts.decode import decode
from contracts.envelope import DomainEvent, ResultEvent
from contracts.registry import COMMANDS, CommandSpec

SPECS = list(COMMANDS.values())
REGENERATE = "run `python -m contracts.export` and commit contracts/asyncapi.yaml and contracts/schemas/"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return export.build_asyncapi()


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return export.render()


def test_committed_files_are_current() -> None:
    differ = export.check()
    assert not differ, f"out of date: {', '.join(differ)}; {REGENERATE}"


def test_export_writes_and_prunes(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "gone.command.json").write_text("{}")
    written = export.export(tmp_path)
    assert tmp_path / "asyncapi.yaml" in written
    assert not (tmp_path / "schemas" / "gone.command.json").exists()
    assert export.check(tmp_path) == []
    (tmp_path / "schemas" / "account.get.json").write_text("{}")
    (tmp_path / "schemas" / "extra.json").write_text("{}")
    assert export.check(tmp_path) == ["schemas/account.get.json", "schemas/extra.json"]
    assert export.main(["--check", "--out", str(tmp_path)]) == 1


def test_output_is_deterministic(files: dict[str, str]) -> None:
    assert export.render() == files


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_command_is_documented(spec: CommandSpec, doc: dict[str, Any], files: dict[str, str]) -> None:
    messages = doc["components"]["messages"]
    assert messages[spec.name]["payload"] == {"$ref": f"#/components/schemas/{spec.name}"}
    assert f"{spec.name}.result" in messages
    assert spec.name in doc["channels"]["commands"]["messages"]
    assert f"{spec.name}.result" in doc["channels"]["results"]["messages"]
    operation = doc["operations"][spec.name]
    assert operation["action"] == "receive"
    assert operation["reply"]["messages"] == [
        {"$ref": f"#/channels/results/messages/{spec.name}.result"}]
    assert f"schemas/{spec.name}.json" in files
    assert f"schemas/{spec.name}.result.json" in files


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_command_example_is_valid(spec: CommandSpec, doc: dict[str, Any]) -> None:
    message = doc["components"]["messages"][spec.name]
    example = message["examples"][0]["payload"]
    # The real decoder, as the consumer runs it: envelope, version, payload model.
    command = decode(json.dumps(example).encode())
    assert isinstance(command.payload, spec.payload)
    result = doc["components"]["messages"][f"{spec.name}.result"]["examples"][0]["payload"]
    event = ResultEvent.model_validate(result)
    assert event.command_id == command.command_id
    spec.result.model_validate(result["result"])


def test_every_example_matches_its_json_schema(doc: dict[str, Any], files: dict[str, str]) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    # Each message example against the document's own schemas (the AsyncAPI parser does not check
    # examples), then each command and result against its standalone schema file.
    for name, message in doc["components"]["messages"].items():
        schema = {**message["payload"], "components": doc["components"]}
        for example in message["examples"]:
            jsonschema.Draft202012Validator(schema).validate(example["payload"])
            if "headers" in message:
                jsonschema.Draft202012Validator(message["headers"]).validate(example["headers"])
        if name in COMMANDS or name.removesuffix(".result") in COMMANDS:
            standalone = json.loads(files[f"schemas/{name}.json"])
            jsonschema.Draft202012Validator.check_schema(standalone)
            jsonschema.Draft202012Validator(standalone).validate(message["examples"][0]["payload"])


class _Nested(BaseModel):
    when: Any = Field(json_schema_extra={"format": "date-time"})
    count: int = Field(ge=3, le=9)


class _Everything(BaseModel):
    """A model using every shape the fallback builds."""

    some_id: Any = Field(json_schema_extra={"type": "string", "format": "uuid"})
    email: str
    secret: str = Field(min_length=20, max_length=30)
    short: str = Field(max_length=3)
    kind: str = Field(json_schema_extra={"enum": ["a", "b"]})
    ratio: float = Field(ge=0, le=1)
    rate: float = Field(gt=0)
    flag: bool
    items: list[_Nested] = Field(min_length=2)
    maybe: _Nested | None
    extra: dict[str, int]
    optional: int = 5


def test_fallback_builds_valid_values_for_every_shape() -> None:
    value = examples.from_schema(_Everything.model_json_schema())
    _Everything.model_validate(value)
    assert value["email"] == "user@example.com"
    assert value["some_id"] == examples.example_id("some_id")
    assert len(value["secret"]) == 20 and len(value["short"]) == 3
    assert (value["ratio"], value["rate"], value["kind"]) == (0.5, 1.0, "a")
    assert len(value["items"]) == 2 and value["items"][0] == {"when": examples.EXAMPLE_TIME, "count": 3}
    assert "optional" not in value


def test_an_example_its_model_rejects_names_the_fix() -> None:
    with pytest.raises(examples.InvalidExample, match=r"contracts/examples\.py"):
        examples.checked(DomainEvent, {"type": "x"}, "a broken example")


def test_task_progress_falls_back_to_domain_event(monkeypatch: pytest.MonkeyPatch) -> None:
    assert export.task_progress_model() is not DomainEvent  # contracts.tasks has one today

    def missing(name: str) -> Any:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(importlib, "import_module", missing)
    assert export.task_progress_model() is DomainEvent


@pytest.mark.parametrize("text", [
    "plain", "two words", "", " lead", "trail ", "yes", "Null", "1.0", "#/x", "a: b", "- x", "$ref",
    "multi\nline\n\n| table |\n  indented", "ends with newline\n", "tab\tand\u2028separator\x7f",
    "café – ünïcode", "trailing \nspace", "\nleading newline", "x\n\n"])
def test_yaml_strings_read_back(text: str) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (only this cross-check needs it)")
    data = {"k": text, text: [text, {"n": text}], "nums": [0, -3, 2.5, 1e-5, 1e16, True, None, [], {}]}
    assert yaml.safe_load(yaml_text.dump(data)) == data


def test_committed_yaml_reads_back_as_the_document(doc: dict[str, Any], files: dict[str, str]) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (only this cross-check needs it)")
    assert yaml.safe_load(files["asyncapi.yaml"]) == doc
