"""A span of log positions and what vouches for it: the unit both `verify` and the digest
writer check events in."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.integrity.digest import Digest


@dataclass
class Span:
    """Log positions start..end and what vouches for them."""

    start: int
    end: int
    sequence: int | None  # the digest the span is reported under; None: after the last one
    digest: Digest | None = None  # readable digest whose Merkle root should match
    trusted: bool = False  # that digest's signature and links all checked out
    gap: str | None = None  # why no digest vouches for these positions

    @property
    def empty(self) -> bool:
        return self.end < self.start
