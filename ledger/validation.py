"""Shape-level request validation driven by botocore's Secrets Manager model.

Only what the model states is checked: required members, lengths, numeric ranges, patterns,
enums and JSON value types. Rules that need meaning (both SecretString and SecretBinary, the
7-30 day recovery window) belong to the operations, which report them with their own errors.

Every violation is collected and reported at once, as AWS does, in one ValidationException:
"<n> validation error(s) detected: <first>; <second>". Member paths are lowerCamelCase with
1-based list indexes (`tags.2.member.key`).

Decisions:
- Unknown members are ignored at every depth, as AWS JSON services ignore them.
- A member whose value is None (JSON null) counts as absent.
- Python types must match the shape: str for strings, bytes for blobs, bool for booleans,
  int (not bool) for integers/longs, numbers or datetimes for timestamps. A wrong type is
  reported once, and that member's other constraints are then skipped.
- Values are echoed only when they are plain scalars (or lists of them) outside sensitive and
  blob shapes; otherwise the message reads "Value at '<path>'" so no secret reaches a log.
"""
from __future__ import annotations

import datetime
import re
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from ledger import servicemodel
from ledger.errors import ValidationException

MAX_ECHO = 256
_TYPES: dict[str, tuple[type, ...]] = {
    "structure": (dict,), "map": (dict,), "list": (list, tuple),
    "string": (str,), "blob": (bytes, bytearray), "boolean": (bool,),
    "integer": (int,), "long": (int,), "float": (int, float), "double": (int, float),
    "timestamp": (int, float, datetime.datetime),
}
_SIZED = frozenset({"string", "blob", "list", "map"})
_NUMERIC = frozenset({"integer", "long", "float", "double"})


def validate_request(operation: str, params: dict[str, Any]) -> None:
    """Raise ValidationException if `params` breaks the operation's input shape.

    Unknown operation names raise ValueError: the caller decides what an unknown target means.
    """
    shape = servicemodel.input_shape(operation)
    if shape is None:
        return
    if not isinstance(params, dict):
        raise ValidationException(
            "1 validation error detected: Request body must be a JSON object")
    errors: list[str] = []
    _check_members(shape, params, "", False, errors)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise ValidationException(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    """Model patterns are Java regexes; ASCII mode matches Java's \\d and \\w. Skip the rest."""
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


def is_text(value: str) -> bool:
    """False for strings with lone surrogates: JSON's `\\ud800` decodes to one, but UTF-8
    (and so the log's encoding) cannot hold it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _render(value: Any) -> str | None:
    """Text AWS-style for plain scalars and lists of them; None means do not echo."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and not is_text(value):
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        parts = [_render(v) for v in value]
        return None if None in parts else "[" + ", ".join(p for p in parts if p is not None) + "]"
    return None


def _opaque(shape: Shape) -> bool:
    """Whether a value of this shape could hold a secret or raw bytes, so is never echoed."""
    return any(s.metadata.get("sensitive") or s.type_name == "blob"
               for s in servicemodel.walk(shape))


def _fail(value: Any, path: str, hidden: bool, phrase: str, errors: list[str]) -> None:
    text = None if hidden else _render(value)
    if text is None:
        errors.append(f"Value at '{path}' failed to satisfy constraint: {phrase}")
        return
    if len(text) > MAX_ECHO:
        text = text[:MAX_ECHO] + "..."
    errors.append(f"Value '{text}' at '{path}' failed to satisfy constraint: {phrase}")


def _check_members(shape: StructureShape, value: dict, path: str, hidden: bool,
                   errors: list[str]) -> None:
    required = set(shape.required_members)
    for name, member in shape.members.items():
        child = f"{path}.{_camel(name)}" if path else _camel(name)
        if value.get(name) is None:
            if name in required:
                errors.append(f"Value null at '{child}' failed to satisfy constraint: "
                              "Member must not be null")
            continue
        _check(member, value[name], child, hidden, errors)


def _check(shape: Shape, value: Any, path: str, hidden: bool, errors: list[str]) -> None:
    kind, meta = shape.type_name, shape.metadata
    hidden = hidden or bool(meta.get("sensitive"))
    conceal = hidden or _opaque(shape)

    def fail(phrase: str) -> None:
        _fail(value, path, conceal, phrase, errors)

    expected = _TYPES.get(kind)
    if expected is not None and (not isinstance(value, expected)
                                 or (isinstance(value, bool) and kind != "boolean")):
        fail(f"Member must be of type {kind}")
        return
    measure = "length" if kind in _SIZED else "value" if kind in _NUMERIC else None
    if measure is not None:
        size = len(value) if measure == "length" else value
        if "min" in meta and size < meta["min"]:
            fail(f"Member must have {measure} greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            fail(f"Member must have {measure} less than or equal to {meta['max']}")
    if kind == "string":
        if not is_text(value):
            fail("Member must be valid Unicode text")
            return
        compiled = _pattern(meta["pattern"]) if "pattern" in meta else None
        if compiled is not None and compiled.fullmatch(value) is None:
            fail(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if "enum" in meta and value not in meta["enum"]:
            fail(f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]")
    elif isinstance(shape, StructureShape):
        _check_members(shape, value, path, hidden, errors)
    elif isinstance(shape, ListShape):
        for i, item in enumerate(value, 1):
            _check_item(shape.member, item, f"{path}.{i}.member", hidden, errors)
    elif isinstance(shape, MapShape):
        for i, (key, item) in enumerate(value.items(), 1):
            _check_item(shape.key, key, f"{path}.{i}.key", hidden, errors)
            _check_item(shape.value, item, f"{path}.{i}.value", hidden, errors)


def _check_item(shape: Shape, value: Any, path: str, hidden: bool, errors: list[str]) -> None:
    """List elements and map entries: a null inside a collection is reported, not skipped."""
    if value is None:
        errors.append(f"Value null at '{path}' failed to satisfy constraint: "
                      "Member must not be null")
        return
    _check(shape, value, path, hidden, errors)
