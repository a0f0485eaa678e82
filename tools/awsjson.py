"""The AWS JSON 1.1 wire format: request bodies in, response and error bodies out.

Request members are read against botocore's input shape for the operation, the way AWS's own
deserializer reads them: JSON nulls count as absent, unknown members are dropped, blobs arrive
as base64 text, and a JSON value of the wrong type is a `SerializationException` whose wording
follows what AWS JSON 1.1 services answer ("NUMBER_VALUE can not be converted to a String").
Constraints (lengths, patterns, required members) are the ledger's business, not this module's.
No message here ever contains a member's value.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from botocore.model import Shape

from ledger import servicemodel
from ledger.errors import LedgerError

CONTENT_TYPE = "application/x-amz-json-1.1"
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_TARGET_NAMES = {"string": "a String", "integer": "an Integer", "long": "a Long",
                 "boolean": "a Boolean", "blob": "a Blob", "float": "a Float",
                 "double": "a Double", "timestamp": "a Date"}


class SerializationException(LedgerError):
    """The body is not JSON, or a member's JSON type does not fit its shape."""

    code = "SerializationException"


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def decode_request(operation: str, body: bytes) -> dict[str, Any]:
    """The request as the ledger takes it: a dict with bytes for blobs and no nulls."""
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise SerializationException("The request body is not valid JSON.") from None
    except RecursionError:  # e.g. 100 000 nested `[`: the parser gives up, the caller erred
        raise SerializationException("The request body is nested too deeply.") from None
    if isinstance(document, list):
        raise SerializationException("Start of list found where not expected")
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a JSON object.")
    shape = servicemodel.input_shape(operation)
    if shape is None:
        return {}
    return _structure(shape, document)


def _structure(shape: Shape, value: dict[str, Any]) -> dict[str, Any]:
    members = shape.members
    return {name: _convert(members[name], item, name) for name, item in value.items()
            if name in members and item is not None}


def _convert(shape: Shape, value: Any, member: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if isinstance(value, dict):
            return _structure(shape, value)
        raise _mismatch(value, "Expected null")
    if kind == "list":
        if isinstance(value, list):
            return [None if item is None else _convert(shape.member, item, member)
                    for item in value]
        raise _mismatch(value, "Expected list or null")
    if kind == "map":
        if isinstance(value, dict):
            return {key: None if item is None else _convert(shape.value, item, member)
                    for key, item in value.items()}
        raise _mismatch(value, "Expected map or null")
    return _scalar(kind, value, member)


def _scalar(kind: str, value: Any, member: str) -> Any:
    target = _TARGET_NAMES.get(kind, "a Value")
    if isinstance(value, list):
        raise SerializationException("Start of list found where not expected")
    if isinstance(value, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            raise SerializationException("STRING_VALUE can not be converted to an Boolean")
        raise SerializationException(f"NUMBER_VALUE can not be converted to {target}")
    if isinstance(value, bool):
        raise SerializationException(
            f"{'TRUE' if value else 'FALSE'}_VALUE can not be converted to {target}")
    if kind in ("string", "blob"):
        if not isinstance(value, str):
            raise SerializationException(f"NUMBER_VALUE can not be converted to {target}")
        return value if kind == "string" else _base64(value, member)
    if isinstance(value, str):
        raise SerializationException(f"STRING_VALUE can not be converted to {target}")
    if kind in _INT_RANGE:
        low, high = _INT_RANGE[kind]
        if not isinstance(value, int):
            raise SerializationException(f"The value of '{_camel(member)}' is not an integer.")
        if not low <= value <= high:
            raise SerializationException(f"The value of '{_camel(member)}' is out of range for "
                                         f"{target}.")
    return value


def _mismatch(value: Any, expected: str) -> SerializationException:
    if isinstance(value, list):
        return SerializationException("Start of list found where not expected")
    if isinstance(value, dict):
        return SerializationException("Start of structure or map found where not expected.")
    return SerializationException(expected)


def _base64(text: str, member: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SerializationException(
            f"The value of '{_camel(member)}' is not valid base64.") from None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _encode_default(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__} in a response")


def encode(document: dict[str, Any]) -> bytes:
    """A response body: blobs become base64 text; nothing else needs conversion."""
    return json.dumps(document, default=_encode_default, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def error_body(code: str, message: str) -> bytes:
    return encode({"__type": code, "Message": message})
