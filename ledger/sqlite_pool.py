"""SQLite connections that keep their prepared statements.

eventsourcing opens connections with `cached_statements=True`, which sqlite3 reads as a cache of
ONE statement, so every statement of a multi-statement transaction is prepared again. The log's
writes (events, hash chain, key store) and the views' catch-up run several statements per
transaction; a real cache makes each of them several times cheaper.
"""
from __future__ import annotations

import sqlite3

from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteDatastore

LOCK_TIMEOUT_SECONDS = 30
STATEMENT_CACHE = 256


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
        return SQLiteConnection(sqlite_conn=connection, max_age=self.max_age)


def use_statement_cache(datastore: SQLiteDatastore) -> None:
    """Swap a datastore's pool for one whose connections cache statements."""
    old = datastore.pool
    datastore.pool = StatementCachingPool(db_name=old.db_name, lock_timeout=old.lock_timeout)
    old.close()
