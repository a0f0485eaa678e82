"""Reading the log and its hashes, and keeping digests, on each backend.

Verification streams the log joined to its recorded hashes in position order, in batches, so
memory stays flat however long the log is. The SQLite store can open a copy of a data
directory read-only, with no root key and no application around it.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

from ledger.integrity.chain import MemoryIntegrityTables, originator_text, record_sqlite
from ledger.integrity.proof import GENESIS

BATCH = 2000


@dataclass(frozen=True)
class ChainRow:
    """One stored event with what the hash table says about it and about its predecessor."""

    position: int
    originator_id: str
    version: int
    topic: str
    state: bytes
    recorded_position: int | None  # None: the event has no recorded hash
    recorded_hash: bytes | None
    previous_hash: bytes | None  # recorded hash of version - 1 (GENESIS for version 1)


@dataclass(frozen=True)
class StoredDigest:
    sequence: int
    body: bytes
    signature: bytes


class IntegrityStore(Protocol):
    contiguous_positions: bool

    def max_position(self) -> int: ...

    def hashed_events(self, after: int, upto: int) -> Iterator[tuple[int, str, int, bytes]]: ...

    def chain_rows(self, after: int, upto: int | None) -> Iterator[ChainRow]: ...

    def orphan_hashes(self) -> list[tuple[str, int, int]]: ...

    def position_of(self, originator_id: str, version: int) -> int | None: ...

    def digests(self) -> list[StoredDigest]: ...

    def digests_after(self, sequence: int) -> list[StoredDigest]: ...

    def latest_digest(self) -> StoredDigest | None: ...

    def chain_tips(self, sequence: int) -> bytes | None: ...

    def insert_digest(self, digest: StoredDigest, chain_tips: bytes) -> None: ...


Transaction = Callable[..., AbstractContextManager[Any]]

# The statements over the log joined to its hashes, with the few spots where the backends
# differ as fields: {events} the events table, {pos} its position column, {eoid} an event's
# originator id as the chain's text, {hoid} a hash row's id as the events table stores it,
# {blob} reading a column as bytes.
_CHAIN_ROWS = (
    "SELECT e.{pos}, {eoid}, e.originator_version, e.topic, {blob_state}, "
    "h.notification_id, {blob_h}, {blob_p} FROM {events} e "
    "LEFT JOIN event_hashes h ON h.originator_id = {eoid} "
    "AND h.originator_version = e.originator_version "
    "LEFT JOIN event_hashes p ON p.originator_id = {eoid} "
    "AND p.originator_version = e.originator_version - 1 "
    "WHERE e.{pos} > ? AND e.{pos} <= ? ORDER BY e.{pos} LIMIT ?")
_HASHED_EVENTS = (
    "SELECT e.{pos}, {eoid}, e.originator_version, {blob_h} "
    "FROM {events} e "
    "JOIN event_hashes h ON h.originator_id = {eoid} "
    "AND h.originator_version = e.originator_version "
    "WHERE e.{pos} > ? AND e.{pos} <= ? ORDER BY e.{pos} LIMIT ?")
_ORPHANS = (
    "SELECT h.originator_id, h.originator_version, h.notification_id FROM event_hashes h "
    "WHERE NOT EXISTS (SELECT 1 FROM {events} e WHERE e.originator_id = {hoid} "
    "AND e.originator_version = h.originator_version) ORDER BY h.notification_id")
_POSITION_OF = ("SELECT {pos} FROM {events} WHERE originator_id = ? "
                "AND originator_version = ?")
_MAX_POSITION = "SELECT MAX({pos}) FROM {events}"


@dataclass(frozen=True)
class Dialect:
    """Where the log's SQL differs between backends (see the statements above)."""

    events: str = "stored_events"
    pos: str = "rowid"
    eoid: str = "e.originator_id"
    hoid: str = "h.originator_id"
    cast_blob: bool = True  # CAST: an edit can leave text where bytes were

    def format(self, statement: str) -> str:
        def blob(column: str) -> str:
            return f"CAST({column} AS BLOB)" if self.cast_blob else column
        return statement.format(events=self.events, pos=self.pos, eoid=self.eoid,
                                hoid=self.hoid, blob_state=blob("e.state"),
                                blob_h=blob("h.hash"), blob_p=blob("p.hash"))

    def originator_param(self, originator_id: str) -> Any:
        return originator_id


class SqlIntegrityStore:
    """The log and its hashes in an SQL database, read through `transaction(commit=...)`,
    whose cursors take `?` placeholders."""

    contiguous_positions = True

    def __init__(self, transaction: Transaction, dialect: Dialect = Dialect()) -> None:
        self._transaction = transaction
        self._dialect = dialect
        self._chain_rows, self._hashed_events, self._orphans, self._position_of, self._max = (
            dialect.format(s) for s in (_CHAIN_ROWS, _HASHED_EVENTS, _ORPHANS, _POSITION_OF,
                                        _MAX_POSITION))

    def _all(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._transaction(commit=False) as c:
            c.execute(statement, params)
            return list(c.fetchall())

    def max_position(self) -> int:
        rows = self._all(self._max)
        return int(rows[0][0] or 0)

    def _batches(self, statement: str, after: int, upto: int | None) -> Iterator[Any]:
        stop = upto if upto is not None else self.max_position()
        while after < stop:
            rows = self._all(statement, (after, stop, BATCH))
            if not rows:
                return
            yield from rows
            after = rows[-1][0]

    def hashed_events(self, after: int, upto: int) -> Iterator[tuple[int, str, int, bytes]]:
        for row in self._batches(self._hashed_events, after, upto):
            yield row[0], row[1], row[2], bytes(row[3])

    def chain_rows(self, after: int, upto: int | None) -> Iterator[ChainRow]:
        for row in self._batches(self._chain_rows, after, upto):
            version = row[2]
            previous = GENESIS if version == 1 else (bytes(row[7]) if row[7] is not None else None)
            yield ChainRow(row[0], row[1], version, row[3], bytes(row[4]), row[5],
                           bytes(row[6]) if row[6] is not None else None, previous)

    def orphan_hashes(self) -> list[tuple[str, int, int]]:
        return [(r[0], r[1], r[2]) for r in self._all(self._orphans)]

    def position_of(self, originator_id: str, version: int) -> int | None:
        rows = self._all(self._position_of,
                         (self._dialect.originator_param(originator_id), version))
        return int(rows[0][0]) if rows else None

    def digests(self) -> list[StoredDigest]:
        return self.digests_after(0)

    def digests_after(self, sequence: int) -> list[StoredDigest]:
        rows = self._all("SELECT sequence, body, signature FROM digests WHERE sequence > ? "
                         "ORDER BY sequence", (sequence,))
        return [StoredDigest(r[0], bytes(r[1]), bytes(r[2])) for r in rows]

    def latest_digest(self) -> StoredDigest | None:
        rows = self._all("SELECT sequence, body, signature FROM digests "
                         "ORDER BY sequence DESC LIMIT 1")
        return StoredDigest(rows[0][0], bytes(rows[0][1]), bytes(rows[0][2])) if rows else None

    def chain_tips(self, sequence: int) -> bytes | None:
        rows = self._all("SELECT chain_tips FROM digests WHERE sequence = ?", (sequence,))
        return bytes(rows[0][0]) if rows else None

    def insert_digest(self, digest: StoredDigest, chain_tips: bytes) -> None:
        try:
            with self._transaction(commit=True) as c:
                c.execute("INSERT INTO digests VALUES (?, ?, ?, ?)",
                          (digest.sequence, digest.body, digest.signature, chain_tips))
        except sqlite3.IntegrityError as error:
            raise IntegrityError(error) from error


class SQLiteIntegrityStore(SqlIntegrityStore):
    """Over the recorder's connection pool, or over a database file opened on its own."""

    contiguous_positions = True  # rowids: max + 1, and a rolled-back insert leaves no gap

    @classmethod
    def for_recorder(cls, recorder: Any) -> SQLiteIntegrityStore:
        return cls(recorder.datastore.transaction)

    @classmethod
    def open_file(cls, path: Path) -> SQLiteIntegrityStore:
        """Read-only, so verifying a ledger (or a copy of one) can never change it."""
        if not path.exists():
            raise FileNotFoundError(f"no ledger database at {path}")
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                                     isolation_level=None)

        @contextmanager
        def transaction(commit: bool = False) -> Iterator[sqlite3.Cursor]:
            if commit:
                raise PermissionError("the ledger database is open read-only")
            cursor = connection.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            finally:
                cursor.execute("ROLLBACK")
                cursor.close()

        return cls(transaction)

    def backfill_chain(self) -> int:
        """Hash a log written before the chain existed: only when there are events but no
        hash row and no digest at all, so deleting hash rows cannot launder a tampered log
        that digests already vouch for. Returns the number of events hashed."""
        with self._transaction(commit=True) as c:
            c.execute("SELECT EXISTS(SELECT 1 FROM event_hashes), EXISTS(SELECT 1 FROM digests), "
                      "EXISTS(SELECT 1 FROM stored_events)")
            hashes, digests, events = c.fetchone()
            if hashes or digests or not events:
                return 0
            c.execute("SELECT rowid, originator_id, originator_version, topic, state "
                      "FROM stored_events ORDER BY rowid")
            rows = c.fetchall()
            record_sqlite(c, [StoredEvent(originator_id=r[1], originator_version=r[2],
                                          topic=r[3], state=bytes(r[4])) for r in rows],
                          [r[0] for r in rows])
            return len(rows)


class MemoryIntegrityStore:
    """Over `MemoryLedgerRecorder`: positions are list indexes + 1."""

    contiguous_positions = True

    def __init__(self, recorder: Any) -> None:
        self._recorder = recorder
        self._tables: MemoryIntegrityTables = recorder.integrity_tables

    def max_position(self) -> int:
        return int(self._recorder.max_notification_id() or 0)

    def _events(self, after: int, upto: int | None) -> Iterator[tuple[int, Any]]:
        start = max(after, 0)
        with self._recorder._database_lock:
            events = self._recorder._stored_events[start:upto]
        for offset, event in enumerate(events):
            yield start + offset + 1, event

    def hashed_events(self, after: int, upto: int) -> Iterator[tuple[int, str, int, bytes]]:
        for position, event in self._events(after, upto):
            oid = originator_text(event.originator_id)
            found = self._tables.hashes.get((oid, event.originator_version))
            if found is not None:
                yield position, oid, event.originator_version, found[1]

    def chain_rows(self, after: int, upto: int | None) -> Iterator[ChainRow]:
        hashes = self._tables.hashes
        for position, event in self._events(after, upto):
            oid, version = originator_text(event.originator_id), event.originator_version
            recorded = hashes.get((oid, version))
            previous = hashes.get((oid, version - 1))
            yield ChainRow(position, oid, version, event.topic, event.state,
                           recorded[0] if recorded else None, recorded[1] if recorded else None,
                           GENESIS if version == 1 else (previous[1] if previous else None))

    def orphan_hashes(self) -> list[tuple[str, int, int]]:
        with self._recorder._database_lock:
            present = {(originator_text(e.originator_id), e.originator_version)
                       for e in self._recorder._stored_events}
        return sorted(((oid, v, p) for (oid, v), (p, _) in self._tables.hashes.items()
                       if (oid, v) not in present), key=lambda row: row[2])

    def position_of(self, originator_id: str, version: int) -> int | None:
        found = self._tables.hashes.get((originator_id, version))
        return found[0] if found else None

    def digests(self) -> list[StoredDigest]:
        return self.digests_after(0)

    def digests_after(self, sequence: int) -> list[StoredDigest]:
        return [StoredDigest(seq, body, sig)
                for seq, (body, sig, _) in sorted(self._tables.digests.items())
                if seq > sequence]

    def latest_digest(self) -> StoredDigest | None:
        digests = self.digests()
        return digests[-1] if digests else None

    def chain_tips(self, sequence: int) -> bytes | None:
        found = self._tables.digests.get(sequence)
        return found[2] if found else None

    def insert_digest(self, digest: StoredDigest, chain_tips: bytes) -> None:
        with self._recorder._database_lock:
            if digest.sequence in self._tables.digests:
                raise IntegrityError(f"digest {digest.sequence} already recorded")
            self._tables.digests[digest.sequence] = (digest.body, digest.signature, chain_tips)


def store_for(recorder: Any) -> IntegrityStore:
    if isinstance(getattr(recorder, "integrity_tables", None), MemoryIntegrityTables):
        return MemoryIntegrityStore(recorder)
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SQLiteIntegrityStore.for_recorder(recorder)
    own_store = getattr(recorder, "integrity_store", None)  # e.g. the PostgreSQL recorder's
    if callable(own_store):
        return own_store()
    raise TypeError(f"no integrity store for {type(recorder).__name__}")
