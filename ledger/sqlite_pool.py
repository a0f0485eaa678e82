"""SQLite connections that keep their prepared statements and take the write lock up front.

eventsourcing opens connections with `cached_statements=True`, which sqlite3 reads as a cache of
ONE statement, so every statement of a multi-statement transaction is prepared again. The log's
writes (events, hash chain, key store) and the views' catch-up run several statements per
transaction; a real cache makes each of them several times cheaper.

eventsourcing begins every transaction with a plain (deferred) `BEGIN`. A write transaction
that reads first then holds a read snapshot, and in WAL mode SQLite refuses to upgrade a
snapshot another process has since written past: the write fails at once with "database is
locked", without waiting. Two processes catching views up on one file (a server and an
`audit` command) do exactly that. Write transactions here begin `IMMEDIATE`, so they wait for
the lock (up to the lock timeout) and then read current data.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import (
    SQLiteConnection, SQLiteConnectionPool, SQLiteCursor, SQLiteDatastore, SQLiteTransaction,
)

LOCK_TIMEOUT_SECONDS = 30
STATEMENT_CACHE = 256


class _ImmediateTransaction(SQLiteTransaction):
    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return cursor


class WriteLockingConnection(SQLiteConnection):
    """Reads begin deferred; writes begin IMMEDIATE."""

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        begin = _ImmediateTransaction if commit else SQLiteTransaction
        with begin(self, commit=commit) as cursor, cursor:
            yield cursor


class StatementCachingPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        try:
            connection = sqlite3.connect(database=self.db_name, uri=True, check_same_thread=False,
                                         isolation_level=None, cached_statements=STATEMENT_CACHE,
                                         timeout=self.lock_timeout or LOCK_TIMEOUT_SECONDS)
        except (sqlite3.Error, TypeError) as error:
            raise InterfaceError(error) from error
        if not self.is_sqlite_memory_mode:
            connection.execute("PRAGMA journal_mode=WAL")
        connection.row_factory = sqlite3.Row
        return WriteLockingConnection(sqlite_conn=connection, max_age=self.max_age)


def use_statement_cache(datastore: SQLiteDatastore) -> None:
    """Swap a datastore's pool for one whose connections cache statements."""
    old = datastore.pool
    datastore.pool = StatementCachingPool(db_name=old.db_name, lock_timeout=old.lock_timeout)
    old.close()
