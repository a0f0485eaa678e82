"""Hypothesis strategies for requests the endpoint must refuse, each invalid by construction.

A request is built from three independent draws:

- a body: a plausible request for some operation (right types, right lengths, a random subset
  of members) with at least one guaranteed violation applied (wrong JSON type, too long, too
  short, out of range, outside the enum or pattern, required member missing, a lone surrogate,
  invalid base64, both SecretString and SecretBinary, a secret that does not exist), then
  possibly broken as a whole (truncated, invalid UTF-8, not an object, nested 200 000 deep,
  random bytes, empty); or a fully valid body that would change the ledger if it got through;
- a transport change: a correct signature (only for invalid bodies), or a change that must
  make the request fail on its own (broken or missing signature, unknown or duplicated
  X-Amz-Target, duplicated Content-Type, wrong method or path, expired time, ...);
- padding: sometimes an unknown member of up to 900 kB, so bodies near the size limit come too.

So every example must end in a 4xx AWS error, and no example may change the log beyond the
audit record of its refusal.
"""
from __future__ import annotations

import base64
import binascii
import json
import string
from dataclasses import dataclass
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape
from hypothesis import strategies as st

from ledger import servicemodel
from ledger.application import HANDLERS

PREFIX = "secretsmanager."
OPERATIONS = sorted(HANDLERS)
EXISTING = "fuzz/existing"  # a secret the test module creates, so handlers are reached too
SAFE = string.ascii_letters + string.digits + "-"  # inside every pattern the model states
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e),
                      max_size=200)
PLACEHOLDER = "RAW-SURROGATE-BYTES-PLACEHOLDER"


@dataclass(frozen=True)
class Hostile:
    """A request to send: the body is final; signing happens at send time."""

    operation: str
    body: bytes
    body_kind: str  # which violation or corruption makes the body invalid, or "valid"
    transport: str  # "signed" or the change that must make the request fail
    target: str | None
    method: str = "POST"
    path: str = "/"
    extra: str = ""  # the transport change's own data (a header value, a cut point)


# ---- plausible member values ----------------------------------------------------------------
def _bounds(meta: dict[str, Any], low: int, high: int) -> tuple[int, int]:
    lo = max(meta.get("min", low), low)
    return lo, max(lo, min(meta.get("max", high), high))


def plausible(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """A JSON value the model accepts for `shape` (small, so violations stand out)."""
    kind, meta = shape.type_name, shape.metadata
    if kind == "string":
        if "enum" in meta:
            return st.sampled_from(meta["enum"])
        lo, hi = _bounds(meta, 1, 40)
        return st.text(alphabet=SAFE, min_size=lo, max_size=hi)
    if kind == "blob":
        lo, hi = _bounds(meta, 1, 32)
        return st.binary(min_size=lo, max_size=hi).map(lambda b: base64.b64encode(b).decode())
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "long"):
        lo, hi = _bounds(meta, 1, 30)
        return st.integers(lo, hi)
    if isinstance(shape, ListShape):
        lo, hi = _bounds(meta, 0, 3)
        return st.lists(plausible(shape.member, depth + 1), min_size=lo, max_size=hi)
    if isinstance(shape, MapShape):
        return st.dictionaries(st.text(alphabet=SAFE, min_size=1, max_size=8),
                               plausible(shape.value, depth + 1), max_size=2)
    if isinstance(shape, StructureShape):
        if depth > 3:
            return st.just({})
        members = {name: plausible(m, depth + 1) for name, m in shape.members.items()}
        required = {name: members.pop(name) for name in shape.required_members}
        return st.fixed_dictionaries(required, optional=members)
    return st.none()


def _secret_id() -> st.SearchStrategy[str]:
    return st.one_of(st.just(EXISTING),
                     st.text(alphabet=SAFE, min_size=1, max_size=20).map("fuzz-missing-".__add__))


def plausible_request(operation: str) -> st.SearchStrategy[dict[str, Any]]:
    shape = servicemodel.input_shape(operation)
    members = {name: plausible(m) for name, m in shape.members.items()}
    if "SecretId" in members:
        members["SecretId"] = _secret_id()
    required = {name: members.pop(name) for name in shape.required_members}
    return st.fixed_dictionaries(required, optional=members)


# ---- violations -----------------------------------------------------------------------------
def wrong_type(kind: str) -> st.SearchStrategy[Any]:
    """A non-null JSON value of a type `kind` never accepts."""
    number = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False,
                                                             allow_infinity=False))
    text = st.text(alphabet=SAFE, max_size=10)
    nested = st.one_of(st.lists(st.integers(), max_size=3),
                       st.dictionaries(text, st.integers(), max_size=2))
    if kind in ("string", "blob"):
        return st.one_of(number, st.booleans(), nested)
    if kind in ("integer", "long"):
        too_big = [2**31, -(2**31) - 1] if kind == "integer" else [2**63, -(2**63) - 1]
        return st.one_of(text, st.booleans(), nested,
                         st.floats(allow_nan=False, allow_infinity=False).filter(
                             lambda f: not f.is_integer()),
                         st.sampled_from([*too_big, 10**30]))
    if kind == "boolean":
        return st.one_of(text, number, nested)
    return st.one_of(text, number, st.booleans())  # list, map, structure


def _not_base64(text: str) -> bool:
    try:
        base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return True
    return False


def _violations(operation: str) -> list[tuple[str, str | None]]:
    """(violation, member) pairs that are certain to make `operation` fail."""
    shape = servicemodel.input_shape(operation)
    found: list[tuple[str, str | None]] = []
    for name, member in shape.members.items():
        kind, meta = member.type_name, member.metadata
        found.append(("wrong_type", name))
        if "max" in meta and kind in ("string", "blob", "list"):
            found.append(("too_long", name))
        if meta.get("min", 0) >= 1 and kind in ("string", "blob", "list"):
            found.append(("too_short", name))
        if kind in ("integer", "long") and ("min" in meta or "max" in meta):
            found.append(("out_of_range", name))
        if "enum" in meta:
            found.append(("not_in_enum", name))
        if "pattern" in meta:
            found.append(("breaks_pattern", name))
        if kind == "string":
            found += [("lone_surrogate", name), ("raw_surrogate_bytes", name)]
        if kind == "blob":
            found.append(("invalid_base64", name))
    found += [("missing", name) for name in shape.required_members]
    if {"SecretString", "SecretBinary"} <= set(shape.members):
        found.append(("both_values", None))
    if "SecretId" in shape.required_members:
        found.append(("unknown_secret", "SecretId"))
    return found


def _too_long(member: Shape, draw: Any) -> Any:
    limit = member.metadata["max"]
    if member.type_name == "string":
        return draw(st.sampled_from(SAFE)) * (limit + draw(st.integers(1, 64)))
    if member.type_name == "blob":
        return base64.b64encode(b"\x07" * (limit + draw(st.integers(1, 64)))).decode()
    return [draw(plausible(member.member))] * (limit + 1)


def _too_short(member: Shape) -> Any:
    if member.type_name == "list":
        return []
    if member.type_name == "blob":
        return ""
    return "a" * (member.metadata["min"] - 1)


@st.composite
def invalid_document(draw: Any, operation: str) -> tuple[dict[str, Any], str]:
    """A request for `operation` that must fail, and the name of its violation."""
    shape = servicemodel.input_shape(operation)
    document = dict(draw(plausible_request(operation)))
    options = _violations(operation)
    violation = draw(st.sampled_from(sorted({kind for kind, _ in options})))
    name = draw(st.sampled_from([member for kind, member in options if kind == violation]))
    member = shape.members.get(name) if name else None
    if violation == "wrong_type":
        document[name] = draw(wrong_type(member.type_name))
    elif violation == "too_long":
        document[name] = _too_long(member, draw)
    elif violation == "too_short":
        document[name] = _too_short(member)
    elif violation == "out_of_range":
        low, high = member.metadata.get("min"), member.metadata.get("max")
        options = ([low - 1] if low is not None else []) + ([high + 1] if high is not None else [])
        document[name] = draw(st.sampled_from(options))
    elif violation == "not_in_enum":
        document[name] = draw(st.text(alphabet=SAFE, max_size=12).filter(
            lambda v: v not in member.metadata["enum"]))
    elif violation == "breaks_pattern":
        low = member.metadata.get("min", 1)
        document[name] = "!" * max(low, 1) + draw(st.text(alphabet=SAFE, max_size=5))
    elif violation == "lone_surrogate":
        document[name] = "fuzz" + chr(draw(st.integers(0xD800, 0xDFFF))) * 40
    elif violation == "raw_surrogate_bytes":
        document[name] = PLACEHOLDER
    elif violation == "invalid_base64":
        document[name] = draw(st.one_of(
            st.sampled_from(["!!!!", "YQ", "YWJj=", "é", "YW Jj", "====", "YQ==YQ=="]),
            st.text(max_size=20).filter(_not_base64)))
    elif violation == "missing":
        document.pop(name, None)
    elif violation == "both_values":
        document["SecretString"] = draw(st.text(alphabet=SAFE, min_size=1, max_size=20))
        document["SecretBinary"] = base64.b64encode(draw(st.binary(min_size=1,
                                                                   max_size=20))).decode()
    elif violation == "unknown_secret":
        document["SecretId"] = "fuzz-missing-" + draw(st.text(alphabet=SAFE, max_size=20))
        # A forced delete of a secret that does not exist succeeds (AWS's documented rule), so
        # it is not a hostile request: keep the unknown secret, refuse it by other means.
        document.pop("ForceDeleteWithoutRecovery", None)
    return document, violation


def encode(document: dict[str, Any], compact: bool) -> bytes:
    separators = (",", ":") if compact else (", ", ": ")
    text = json.dumps(document, separators=separators).encode()
    return text.replace(json.dumps(PLACEHOLDER).encode(), b'"fuzz\xed\xa0\x80"')


# ---- bodies broken as a whole ----------------------------------------------------------------
def deep_nesting(depth: int, form: str) -> bytes:
    if form == "open_lists":
        return b"[" * depth
    if form == "closed_lists":
        return b"[" * depth + b"]" * depth
    if form == "in_member":
        return b'{"SecretId":' + b"[" * depth + b"]" * depth + b"}"
    return b'{"a":' * depth + b"1" + b"}" * depth  # nested objects


def _not_an_object(body: bytes) -> bool:
    try:
        return not isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return True


@st.composite
def broken_body(draw: Any, valid: bytes) -> tuple[bytes, str]:
    """`valid` damaged so that it is no JSON object at all."""
    how = draw(st.sampled_from(["truncated", "invalid_utf8", "not_an_object", "deep",
                                "random_bytes", "empty"]))
    if how == "truncated":
        return valid[:draw(st.integers(0, len(valid) - 1))], how
    if how == "invalid_utf8":
        at = draw(st.integers(1, len(valid)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xf0\x28\x8c\xbc", b"\x80",
                                    b"\xc0\xaf"]))
        return valid[:at] + bad + valid[at:], how
    if how == "not_an_object":
        value = draw(st.one_of(st.lists(st.integers(), max_size=3), st.integers(),
                               st.text(max_size=10), st.none(), st.booleans()))
        return json.dumps(value).encode(), how
    if how == "deep":
        form = draw(st.sampled_from(["open_lists", "closed_lists", "in_member", "objects"]))
        if form in ("open_lists", "closed_lists"):  # never an object, at any depth
            depth = draw(st.one_of(st.integers(900, 1100), st.integers(1, 200_000)))
        else:  # an object only while the parser copes: go well past its recursion limit
            depth = draw(st.integers(5_000, 200_000))
        return deep_nesting(depth, form), how
    if how == "random_bytes":
        return draw(st.binary(max_size=2000).filter(_not_an_object)), how
    return b"", how


# ---- whole requests -------------------------------------------------------------------------
# Changes that must fail authentication, whatever the body.
AUTH_FAILURES = ["no_target", "dup_content_type", "no_content_type", "no_date", "bad_signature",
                 "wrong_secret", "unknown_key", "wrong_service", "expired", "future",
                 "bad_date", "no_auth", "garbage_auth", "truncated_auth", "security_token",
                 "body_tampered", "sha256_mismatch", "query_auth"]
# Changes that must fail authentication or name no operation this endpoint serves.
NOT_SERVED = ["unknown_target", "dup_target", "wrong_method", "wrong_path"]
REJECTING = AUTH_FAILURES + NOT_SERVED


@st.composite
def _transport(draw: Any, operation: str, allow_signed: bool) -> dict[str, Any]:
    # Mostly signed right, so most invalid bodies get past authentication to the parser.
    choices = (["signed"] * (2 * len(REJECTING)) if allow_signed else []) + REJECTING
    transport = draw(st.sampled_from(choices))
    fields: dict[str, Any] = {"transport": transport, "target": PREFIX + operation}
    if transport == "unknown_target":
        fields["target"] = draw(st.one_of(
            st.sampled_from(["secretsmanager.Nope", "kms.CreateKey", "secretsmanager.",
                             "SecretsManager." + operation, operation, "secretsmanager.*",
                             PREFIX + operation.lower()]),
            HEADER_TEXT).filter(lambda t: t.strip() not in {PREFIX + op for op in OPERATIONS}))
    elif transport == "no_target":
        fields["target"] = None
    elif transport in ("dup_target", "garbage_auth"):
        fields["extra"] = draw(st.one_of(st.sampled_from([PREFIX + o for o in OPERATIONS]),
                                         HEADER_TEXT))
    elif transport == "truncated_auth":
        fields["extra"] = str(draw(st.integers(0, 150)))
    elif transport == "wrong_method":
        fields["method"] = draw(st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    elif transport == "wrong_path":
        fields["path"] = draw(st.sampled_from(["/x", "//", "/secretsmanager", "/%2F", "/../",
                                               "/x?Action=CreateSecret"]))
    elif transport == "query_auth":
        fields["path"] = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
    return fields


@st.composite
def valid_body(draw: Any) -> tuple[str, bytes]:
    """A request that would change the ledger if it were accepted."""
    operation = draw(st.sampled_from(["CreateSecret", "UpdateSecret", "PutSecretValue",
                                      "DeleteSecret", "TagResource"]))
    token = draw(st.uuids()).hex
    value = draw(st.text(alphabet=SAFE, min_size=1, max_size=30))
    document: dict[str, Any] = {
        "CreateSecret": {"Name": "fuzz-valid-" + token, "SecretString": value,
                         "ClientRequestToken": token},
        "UpdateSecret": {"SecretId": EXISTING, "SecretString": value,
                         "ClientRequestToken": token},
        "PutSecretValue": {"SecretId": EXISTING, "SecretString": value,
                           "ClientRequestToken": token},
        "DeleteSecret": {"SecretId": EXISTING, "ForceDeleteWithoutRecovery": True},
        "TagResource": {"SecretId": EXISTING, "Tags": [{"Key": "fuzz", "Value": value}]},
    }[operation]
    return operation, json.dumps(document).encode()


@st.composite
def hostile_requests(draw: Any) -> Hostile:
    if draw(st.integers(0, 4)) == 0:
        operation, body = draw(valid_body())
        return Hostile(operation=operation, body=body, body_kind="valid",
                       **draw(_transport(operation, allow_signed=False)))
    operation = draw(st.sampled_from(OPERATIONS))
    document, violation = draw(invalid_document(operation))
    if draw(st.integers(0, 9)) == 0:
        document["ZPadding"] = "p" * draw(st.integers(1, 900_000))
    body = encode(document, draw(st.booleans()))
    kind = violation
    if draw(st.integers(0, 3)) == 0:
        body, kind = draw(broken_body(body))
    return Hostile(operation=operation, body=body, body_kind=kind,
                   **draw(_transport(operation, allow_signed=True)))
