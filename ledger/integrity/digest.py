"""Signed digests, after CloudTrail's digest files: the record itself.

A digest covers the log positions written since the previous digest (possibly none: an empty
digest still proves that nothing was written in its interval). It holds the Merkle root of
the events' chain hashes in position order, a hash of the tip of every originator chain it
touched (the tips themselves are kept beside it), and the previous digest's hash and
signature, so deleting or editing any digest breaks the chain of signatures.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from ledger import codec
from ledger.integrity.proof import DIGEST_FORMAT
from ledger.integrity.store import StoredDigest

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)


def event_time(state: bytes) -> datetime | None:
    """The `timestamp` of a stored event, or None if its state cannot be read."""
    try:
        moment = codec.unpack(state).get("timestamp")
    except Exception:  # encrypted or foreign state: times are informative only
        return None
    return moment if isinstance(moment, datetime) else None


@dataclass(frozen=True)
class Digest:
    sequence: int
    body: bytes
    signature: bytes
    # The originator chain tips the body's chain_tips_hash covers, when the digest came from
    # a published file (the database keeps them beside its own digest rows).
    chain_tips: bytes | None = field(default=None, compare=False)

    @classmethod
    def of(cls, stored: StoredDigest) -> Digest:
        return cls(stored.sequence, stored.body, stored.signature)

    @cached_property
    def fields(self) -> dict[str, Any]:
        """The parsed body; raises ValueError if it is not a digest body."""
        fields = json.loads(self.body)
        if not isinstance(fields, dict) or fields.get("format") != DIGEST_FORMAT:
            raise ValueError("not a digest body")
        return fields

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def start_position(self) -> int:
        return int(self.fields["start_position"])

    @property
    def end_position(self) -> int:
        return int(self.fields["end_position"])

    @property
    def signed_by(self) -> str | None:
        """The fingerprint of the key the body says signed it (None if unreadable)."""
        try:
            return self.fields.get("public_key_fingerprint")
        except ValueError:
            return None

    @property
    def end_time(self) -> datetime:
        return parse_time(self.fields["digest_end_time"])

    def summary(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "hash": self.hash, "signature": self.signature.hex(),
                **{k: self.fields[k] for k in (
                    "digest_start_time", "digest_end_time", "start_position", "end_position",
                    "event_count", "merkle_root", "chain_tip_count")}}
