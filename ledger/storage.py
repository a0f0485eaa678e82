"""Event recorders that also write the key store, in the same transaction as the events.

An event that needs a data key and the data key itself commit together or not at all, so a
crash can never leave a version without its key or a key without its version.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from ledger.integrity.chain import INTEGRITY_DDL, MemoryIntegrityTables, record_sqlite
from ledger.keys.key_files import KeyFiles
from ledger.keys.keystore import DataKey, KeyStoreChanges
from ledger.sqlite_pool import LOCK_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

KEYSTORE_DDL = [
    "CREATE TABLE IF NOT EXISTS key_materials (name TEXT PRIMARY KEY, wrapped BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS data_keys (secret_id TEXT NOT NULL, version_id TEXT NOT NULL, "
    "key_arn TEXT NOT NULL, wrapped BLOB NOT NULL, PRIMARY KEY (secret_id, version_id))",
]


class SqlKeyStore:
    """The key store and the hash chain in any SQL recorder; subclasses supply transactions.

    The statements are the common subset of SQLite and PostgreSQL (see `ledger.sqldialect`), so
    both recorders share this one implementation and differ only in how a transaction begins.
    """

    def _key_store_transaction(self, commit: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _record_with_events(self, c: Any, stored_events: Sequence[StoredEvent],
                            ids: Sequence[int], changes: KeyStoreChanges | None,
                            known: dict[tuple[str, int], bytes] | None = None) -> None:
        """Inside the events' transaction, after their insert (`known`: see record_sqlite)."""
        record_sqlite(c, stored_events, ids, known)  # the hash chain, same transaction
        if changes:
            self._write_keys(c, changes)

    def _before_key_writes(self, c: Any) -> None:
        """Backend-specific preparation of a transaction that changes key rows."""

    def _write_keys(self, c: Any, changes: KeyStoreChanges) -> None:
        self._before_key_writes(c)
        if changes.materials:
            c.executemany("INSERT INTO key_materials VALUES (?, ?)",
                          list(changes.materials.items()))
        if changes.data_keys:
            c.executemany("INSERT INTO data_keys VALUES (?, ?, ?, ?) "
                          "ON CONFLICT (secret_id, version_id) DO UPDATE SET "
                          "key_arn = excluded.key_arn, wrapped = excluded.wrapped",
                          [(s, v, k.key_arn, k.wrapped)
                           for (s, v), k in changes.data_keys.items()])
        if changes.rewrapped:
            c.executemany("UPDATE key_materials SET wrapped = ? WHERE name = ? AND wrapped = ?",
                          [(new, name, old) for name, (old, new) in changes.rewrapped.items()])
        if shreds(changes):
            c.executemany("DELETE FROM key_materials WHERE name = ?",
                          [(n,) for n in changes.shred_materials])
            c.executemany("DELETE FROM data_keys WHERE secret_id = ? AND version_id = ?",
                          [tuple(key) for key in changes.shred_versions])
            c.executemany("DELETE FROM data_keys WHERE secret_id = ?",
                          [(s,) for s in changes.shred_secrets])

    def material(self, name: str) -> bytes | None:
        files = getattr(self, "key_files", None)
        if files is not None and files.holds(name):
            found = files.read(name)
            if found is not None:
                return found  # else a key made before key records moved to files
        with self._key_store_transaction(False) as c:
            c.execute("SELECT wrapped FROM key_materials WHERE name = ?", (name,))
            row = c.fetchone()
        return _blob(row[0]) if row else None

    def data_key(self, secret_id: str, version_id: str) -> DataKey | None:
        with self._key_store_transaction(False) as c:
            c.execute("SELECT key_arn, wrapped FROM data_keys WHERE secret_id = ? AND version_id = ?",
                      (secret_id, version_id))
            row = c.fetchone()
        return DataKey(row[0], _blob(row[1])) if row else None

    def put_material_if_absent(self, name: str, wrapped: bytes) -> bytes:
        with self._key_store_transaction(True) as c:
            c.execute("INSERT INTO key_materials VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                      (name, wrapped))
            c.execute("SELECT wrapped FROM key_materials WHERE name = ?", (name,))
            return _blob(c.fetchone()[0])

    def all_materials(self) -> dict[str, bytes]:
        """Every wrapped key material by name (for a root key rotation)."""
        with self._key_store_transaction(False) as c:
            c.execute("SELECT name, wrapped FROM key_materials ORDER BY name")
            return {row[0]: _blob(row[1]) for row in c.fetchall()}

    def key_store_rows(self) -> int:
        with self._key_store_transaction(False) as c:
            c.execute("SELECT COUNT(*) FROM data_keys")
            return int(c.fetchone()[0])


def _blob(value: Any) -> bytes:
    """A key-store cell as bytes; a value of another type (written by hand into the file) is
    turned into bytes too, so it fails the seal check like any altered key."""
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()


def shreds(changes: KeyStoreChanges | None) -> bool:
    return bool(changes and (changes.shred_versions or changes.shred_secrets
                             or changes.shred_materials))


class SQLiteLedgerRecorder(SqlKeyStore, SQLiteApplicationRecorder):
    key_files: KeyFiles | None = None  # set by the application when the ledger has a directory

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *KEYSTORE_DDL, *INTEGRITY_DDL]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None
        self._record_with_events(c, stored_events, ids, kwargs.get("key_changes"))
        return ids

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """Key records that live in files are written before the events commit and erased
        after; the database transaction carries the rest."""
        changes: KeyStoreChanges | None = kwargs.get("key_changes")
        if changes and self.key_files is not None:
            kwargs["key_changes"] = self._write_files(changes, self.key_files)
        ids = super().insert_events(stored_events, **kwargs)
        if changes and changes.rewrapped and self.key_files is not None:
            self._rewrap_files(changes.rewrapped, self.key_files)
        if shreds(changes):
            if self.key_files is not None:
                self.erase_files(changes.shred_materials)
            self.checkpoint()  # rows deleted from the tables: drop old WAL frames if no one reads
        return ids

    @staticmethod
    def _write_files(changes: KeyStoreChanges, files: KeyFiles) -> KeyStoreChanges:
        in_files = {n: w for n, w in changes.materials.items() if files.holds(n)}
        for name, wrapped in in_files.items():
            try:
                files.create(name, wrapped)
            except FileExistsError:
                raise IntegrityError(f"key record {name} already exists") from None
        if not in_files:
            return changes
        rest = {n: w for n, w in changes.materials.items() if n not in in_files}
        return dataclasses.replace(changes, materials=rest)

    @staticmethod
    def _rewrap_files(rewrapped: dict[str, tuple[bytes, bytes]], files: KeyFiles) -> None:
        """A root key rotation's records in files, swapped after its event commits: a crash
        in between leaves them under the old key, and running the rotation again finishes."""
        for name, (old, new) in rewrapped.items():
            if files.holds(name) and files.read(name) == old:
                files.replace(name, new)

    def all_materials(self) -> dict[str, bytes]:
        """Rows and key record files alike (what a root key rotation re-wraps)."""
        found = super().all_materials()
        if self.key_files is not None:
            for name in self.key_files.names():
                wrapped = self.key_files.read(name)
                if wrapped is not None:
                    found[name] = wrapped
        return dict(sorted(found.items()))

    def erase_files(self, names: Sequence[str]) -> None:
        assert self.key_files is not None
        for name in names:
            if self.key_files.holds(name):
                try:
                    self.key_files.erase(name)
                except OSError as error:  # committed: the next open finishes it (application)
                    log.error("erasing key record %s failed: %s", name, type(error).__name__)

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate it, without waiting: False at
        once if a reader or writer holds it (the next shred or upkeep tries again)."""
        with self.datastore.get_connection(commit=False) as connection:
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout = 0")
            try:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()[0]
            finally:
                wait = self.datastore.pool.lock_timeout or LOCK_TIMEOUT_SECONDS
                cursor.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        return busy == 0

    def _key_store_transaction(self, commit: bool) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=commit)

    def _before_key_writes(self, c: Any) -> None:
        # Zero freed space whenever key rows change (a re-wrap replaces a row, a shred deletes
        # one), so no destroyed or superseded wrapped key lingers in a page.
        c.execute("PRAGMA secure_delete = ON")


class MemoryLedgerRecorder(POPOApplicationRecorder):
    """In-memory twin of the SQLite recorder, for unit tests and throwaway ledgers."""

    def __init__(self) -> None:
        super().__init__()
        self._materials: dict[str, bytes] = {}
        self._data_keys: dict[tuple[str, str], DataKey] = {}
        self.integrity_tables = MemoryIntegrityTables()

    def _insert_events(self, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        with self._database_lock:
            changes: KeyStoreChanges | None = kwargs.get("key_changes")
            if changes and set(changes.materials) & set(self._materials):
                raise IntegrityError("key material already recorded")
            ids = super()._insert_events(stored_events, **kwargs)
            assert ids is not None
            self.integrity_tables.record(stored_events, ids)
            if changes:
                self._materials.update(changes.materials)
                self._data_keys.update(changes.data_keys)
                for name, (old, new) in changes.rewrapped.items():
                    if self._materials.get(name) == old:
                        self._materials[name] = new
                for name in changes.shred_materials:
                    self._materials.pop(name, None)
                for key in changes.shred_versions:
                    self._data_keys.pop(tuple(key), None)
                for secret_id in changes.shred_secrets:
                    for key in [k for k in self._data_keys if k[0] == secret_id]:
                        del self._data_keys[key]
            return ids

    def material(self, name: str) -> bytes | None:
        return self._materials.get(name)

    def data_key(self, secret_id: str, version_id: str) -> DataKey | None:
        return self._data_keys.get((secret_id, version_id))

    def put_material_if_absent(self, name: str, wrapped: bytes) -> bytes:
        with self._database_lock:
            return self._materials.setdefault(name, wrapped)

    def all_materials(self) -> dict[str, bytes]:
        with self._database_lock:
            return dict(sorted(self._materials.items()))

    def key_store_rows(self) -> int:
        return len(self._data_keys)
