"""A small block-style YAML writer for JSON data, so the committed `asyncapi.yaml` needs no YAML library.

Owning the writer keeps the generated file byte-stable: a staleness test comparing it to a fresh
export cannot start failing because a third-party emitter changed its layout. The output reads back
as the same data under YAML 1.2 (js-yaml, the AsyncAPI parser's) and YAML 1.1 (PyYAML): a string
that could read as anything else is written as a JSON string, which YAML's double-quoted style
reads identically; multi-line text becomes a literal block, so descriptions stay readable.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Plain (unquoted) strings: a letter first, no character YAML gives a meaning to, no word a YAML 1.1
# reader turns into a bool or null.
_PLAIN = re.compile(r"[A-Za-z_$][A-Za-z0-9_.$/+() -]*")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
_INDENT = "  "


def dump(data: dict[str, Any] | list[Any]) -> str:
    """The YAML text of a JSON-like mapping or list (str keys; str, int, float, bool, None leaves)."""
    return "\n".join(_node(data, 0)) + "\n"


def _node(value: dict[str, Any] | list[Any], depth: int) -> list[str]:
    return _mapping(value, depth) if isinstance(value, dict) else _sequence(value, depth)


def _mapping(data: dict[str, Any], depth: int) -> list[str]:
    pad, lines = _INDENT * depth, []
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"mapping keys must be strings, got {key!r}")
        lines += _entry(f"{pad}{_string(key)}:", value, depth)
    return lines


def _sequence(items: list[Any], depth: int) -> list[str]:
    pad, lines = _INDENT * depth, []
    for item in items:
        if isinstance(item, dict) and item:
            # The first key shares the dash's line; the others line up under it.
            inner = _mapping(item, depth + 1)
            lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
        else:
            lines += _entry(f"{pad}-", item, depth)
    return lines


def _entry(head: str, value: Any, depth: int) -> list[str]:
    """`head` (a `key:` or a `-`) followed by the value: inline, as a block, or as nested lines."""
    if isinstance(value, dict | list) and value:
        return [head, *_node(value, depth + 1)]
    if isinstance(value, str) and _block_ok(value):
        pad, chomp = _INDENT * (depth + 1), "" if value.endswith("\n") else "-"
        body = [f"{pad}{line}" if line else "" for line in value.rstrip("\n").split("\n")]
        return [f"{head} |{chomp}", *body]
    return [f"{head} {_scalar(value)}"]


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _string(value)
    if value == {} or value == []:
        return "{}" if isinstance(value, dict) else "[]"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"{value} has no JSON form")
    text = repr(value)
    # YAML 1.1 readers need a dot in the mantissa to see a float ("1e-05" would be a string).
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}.0{e}{exponent}" if e and "." not in mantissa else text


def _string(text: str) -> str:
    plain = _PLAIN.fullmatch(text) and not text.endswith(" ") and text.lower() not in _RESERVED
    return text if plain else _quoted(text)


def _quoted(text: str) -> str:
    # json.dumps escapes quotes, backslashes and C0 controls; YAML also wants the other
    # non-printables escaped (DEL, C1 controls, line/paragraph separators, BOM).
    return "".join(c if _printable(c) else _escape(c) for c in json.dumps(text, ensure_ascii=False))


def _printable(char: str) -> bool:
    code = ord(char)
    return 0x20 <= code <= 0x7E or (0xA0 <= code <= 0xFFFD and code not in (0x2028, 0x2029, 0xFEFF)
                                    and not 0xD800 <= code <= 0xDFFF) or 0x10000 <= code <= 0x10FFFF


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _block_ok(text: str) -> bool:
    """Multi-line text that a literal block keeps exactly: no trailing blanks, no tabs or
    non-printables, a first line that does not start with a space (that would need an explicit
    indentation indicator), at most one final newline."""
    if "\n" not in text.rstrip("\n") or text.endswith("\n\n") or text.startswith((" ", "\n")):
        return False
    return all(_printable(c) or c == "\n" for c in text) and all(
        line == line.rstrip() for line in text.split("\n"))
