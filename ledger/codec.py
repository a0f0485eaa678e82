"""msgpack encoding of events: compact, exact for bytes, and stable as a hashed input.

Registered through eventsourcing's TRANSCODER_TOPIC. Ext types keep UUID, datetime (with its
offset), Decimal and date exact; tuples come back as lists, as with JSON.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgpack
from eventsourcing.persistence import Transcoder

_UUID, _DATETIME, _DECIMAL, _DATE = 1, 2, 3, 4


def _default(obj: Any) -> msgpack.ExtType:
    kind = type(obj)
    if kind is UUID:
        return msgpack.ExtType(_UUID, obj.bytes)
    if kind is datetime:
        return msgpack.ExtType(_DATETIME, obj.isoformat().encode())
    if kind is Decimal:
        return msgpack.ExtType(_DECIMAL, str(obj).encode())
    if kind is date:
        return msgpack.ExtType(_DATE, obj.isoformat().encode())
    raise TypeError(f"cannot encode {kind.__name__} in an event")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _UUID:
        return UUID(bytes=data)
    if code == _DATETIME:
        return datetime.fromisoformat(data.decode())
    if code == _DECIMAL:
        return Decimal(data.decode())
    if code == _DATE:
        return date.fromisoformat(data.decode())
    return msgpack.ExtType(code, data)


def pack(obj: Any) -> bytes:
    # packb, not a shared Packer: Packer is not thread-safe and the ledger serves threads.
    return msgpack.packb(obj, default=_default, use_bin_type=True, datetime=False)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)


class MsgPackTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return pack(obj)

    def decode(self, data: bytes) -> Any:
        return unpack(data)
