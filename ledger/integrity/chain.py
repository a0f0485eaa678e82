"""The per-originator hash chain, written by the recorders inside the event transaction.

Each aggregate (secret, name index, key, API call record) has its own chain, so writers on
different secrets never contend for one global tip: a save costs one indexed lookup of the
previous hash per aggregate that already has events, plus one row per event.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.integrity.proof import GENESIS, canonical_bytes, chain_hash

INTEGRITY_DDL = [
    "CREATE TABLE IF NOT EXISTS event_hashes (originator_id TEXT NOT NULL, "
    "originator_version INTEGER NOT NULL, notification_id INTEGER NOT NULL, hash BLOB NOT NULL, "
    "PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID",
    # Append-only by convention; verification, not the schema, is what makes edits visible.
    "CREATE TABLE IF NOT EXISTS digests (sequence INTEGER PRIMARY KEY, body BLOB NOT NULL, "
    "signature BLOB NOT NULL, chain_tips BLOB NOT NULL)",
]

_PREVIOUS_HASH = "SELECT hash FROM event_hashes WHERE originator_id = ? AND originator_version = ?"
_INSERT_HASH = "INSERT INTO event_hashes VALUES (?, ?, ?, ?)"


class ChainBroken(Exception):
    """An event's predecessor has no recorded hash, so the event cannot be chained."""


def originator_text(originator_id: UUID | str) -> str:
    """The originator id as the SQLite recorder stores it (and as the chain hashes it)."""
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)


def _chain(stored_events: Sequence[StoredEvent], positions: Sequence[int],
           previous: Any) -> list[tuple[str, int, int, bytes]]:
    """Hash rows for one save; `previous(oid, version)` finds a tip saved earlier."""
    tips: dict[str, tuple[int, bytes]] = {}
    rows = []
    for event, position in zip(stored_events, positions, strict=True):
        oid, version = originator_text(event.originator_id), event.originator_version
        tip = tips.get(oid)
        if tip is not None and tip[0] == version - 1:
            prev = tip[1]
        elif version == 1:
            prev = GENESIS
        else:
            prev = previous(oid, version - 1)
            if prev is None:
                raise ChainBroken(f"no recorded hash for {oid}:{version - 1}")
        digest = chain_hash(prev, canonical_bytes(oid, version, event.topic, event.state))
        tips[oid] = (version, digest)
        rows.append((oid, version, position, digest))
    return rows


def record_sqlite(cursor: Any, stored_events: Sequence[StoredEvent],
                  positions: Sequence[int],
                  known: dict[tuple[str, int], bytes] | None = None) -> None:
    """Called by the SQL recorders (SQLite, PostgreSQL) after the insert, in the same
    transaction. `known`: the predecessors' hashes, if read already (`previous_hashes`)."""
    if known is None:
        known = previous_hashes(cursor, stored_events)
    cursor.executemany(_INSERT_HASH, _chain(stored_events, positions,
                                            lambda oid, version: known.get((oid, version))))


def previous_hashes(cursor: Any, stored_events: Sequence[StoredEvent]
                    ) -> dict[tuple[str, int], bytes]:
    """The recorded hash of each event's predecessor that this save does not itself hold, in
    one query. A predecessor was committed before the save began (the writer read it), so
    this may run before the events table is locked, keeping the lock short on a server."""
    saved = {(originator_text(e.originator_id), e.originator_version) for e in stored_events}
    wanted = sorted({(originator_text(e.originator_id), e.originator_version - 1)
                     for e in stored_events if e.originator_version > 1} - saved)
    if not wanted:
        return {}
    if len(wanted) == 1:
        cursor.execute(_PREVIOUS_HASH, wanted[0])
        row = cursor.fetchone()
        return {wanted[0]: bytes(row[0])} if row else {}
    rows = ", ".join("(?, ?)" for _ in wanted)
    cursor.execute("SELECT originator_id, originator_version, hash FROM event_hashes WHERE "
                   f"(originator_id, originator_version) IN (VALUES {rows})",
                   [value for pair in wanted for value in pair])
    return {(row[0], row[1]): bytes(row[2]) for row in cursor.fetchall()}


@dataclass
class MemoryIntegrityTables:
    """The in-memory recorder's `event_hashes` and `digests` tables."""

    hashes: dict[tuple[str, int], tuple[int, bytes]] = field(default_factory=dict)
    digests: dict[int, tuple[bytes, bytes, bytes]] = field(default_factory=dict)

    def record(self, stored_events: Sequence[StoredEvent], positions: Sequence[int]) -> None:
        """Called by the memory recorder under its lock, after the events are appended."""
        def previous(oid: str, version: int) -> bytes | None:
            found = self.hashes.get((oid, version))
            return found[1] if found else None

        for oid, version, position, digest in _chain(stored_events, positions, previous):
            self.hashes[(oid, version)] = (position, digest)
