"""Read-only access to botocore's Secrets Manager service model.

The model is the single source for request shapes, limits and `sensitive` markings, so no
other module retypes a length, pattern or enum that botocore already publishes.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import botocore.session
from botocore.model import (
    ListShape, MapShape, OperationModel, OperationNotFoundError, ServiceModel, Shape,
    StructureShape,
)

SERVICE_NAME = "secretsmanager"
_LENGTH_TYPES = frozenset({"string", "blob", "list", "map"})


@cache
def service_model() -> ServiceModel:
    """Loaded once: parsing the JSON model costs tens of milliseconds."""
    return botocore.session.get_session().get_service_model(SERVICE_NAME)


def operation_names() -> list[str]:
    return list(service_model().operation_names)


@cache
def _operation(operation: str) -> OperationModel:
    """Cached because botocore builds a fresh OperationModel, and fresh shapes, per call."""
    try:
        return service_model().operation_model(operation)
    except OperationNotFoundError:
        raise ValueError(f"unknown Secrets Manager operation: {operation!r}") from None


def input_shape(operation: str) -> StructureShape | None:
    return _operation(operation).input_shape


def output_shape(operation: str) -> StructureShape | None:
    """None for operations without output (TagResource, UntagResource)."""
    return _operation(operation).output_shape


def walk(shape: Shape, _open: frozenset[str] = frozenset()) -> Iterator[Shape]:
    """Yield `shape` and every shape nested in it; stops at cycles (containers already open)."""
    yield shape
    if shape.name in _open:
        return
    inner = _open | {shape.name}
    if isinstance(shape, StructureShape):
        children = list(shape.members.values())
    elif isinstance(shape, ListShape):
        children = [shape.member]
    elif isinstance(shape, MapShape):
        children = [shape.key, shape.value]
    else:
        children = []
    for child in children:
        yield from walk(child, inner)


def is_sensitive(shape: Shape) -> bool:
    """True if the shape, or anything nested in it, is marked sensitive.

    Member-level traits are merged into the shape's metadata by botocore, so a member marked
    sensitive on its reference is caught as well as a sensitive shape.
    """
    return any(s.metadata.get("sensitive", False) for s in walk(shape))


@cache
def sensitive_members(operation: str) -> frozenset[str]:
    shape = input_shape(operation)
    if shape is None:
        return frozenset()
    return frozenset(name for name, member in shape.members.items() if is_sensitive(member))


def string_limits(operation: str, member: str) -> tuple[int | None, int | None]:
    """(min, max) length of a top-level input member (characters; bytes for blobs)."""
    shape = input_shape(operation)
    if shape is None or member not in shape.members:
        raise ValueError(f"{operation} has no input member {member!r}")
    target = shape.members[member]
    if target.type_name not in _LENGTH_TYPES:
        raise ValueError(f"{operation}.{member} is a {target.type_name}, it has no length")
    return target.metadata.get("min"), target.metadata.get("max")
