"""Where read models live: SQLite tables plus eventsourcing's tracking table, in one datastore.

On disk the store shares the ledger's own file (`ledger.db`), so one backup holds the log and
every view. The in-memory twin is a private shared-cache SQLite database, so both backends run
the same SQL and cannot drift apart. A view's rows and its position are written in one
transaction (`TrackingRecorder`), which is what makes catch-up exactly-once.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder

from ledger.sqlite_pool import LOCK_TIMEOUT_SECONDS, use_statement_cache


class ReadStoreQueries:
    """What every view store does the same way on any backend, through `reading()`,
    `writing()` and `position_in()`; the tracking table is called `tracking` on each."""

    reading: Callable[[], AbstractContextManager[Any]]
    writing: Callable[[], AbstractContextManager[Any]]
    position_in: Callable[[Any, str], int]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.reading() as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    def reset(self, view: str, tables: Mapping[str, str]) -> None:
        """Forget a view entirely (rows and position together), ready for a rebuild from 0."""
        with self.writing() as cursor:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("DELETE FROM tracking WHERE application_name = ?", (view,))

    def digest(self, view: str, tables: Mapping[str, str]) -> tuple[int, str]:
        """The view's position and a SHA-256 over every row of its tables, read in one
        transaction so the two agree. Rows are sorted by their text here rather than by SQL,
        so a view on PostgreSQL and its rebuild on SQLite digest alike whatever the collation."""
        digest = hashlib.sha256()
        with self.reading() as cursor:
            position = self.position_in(cursor, view)
            for table in sorted(tables):
                cursor.execute(f"SELECT * FROM {table}")
                lines = sorted(map(repr, map(tuple, cursor.fetchall())))
                text = "\n".join(lines) + "\n" if lines else ""
                digest.update(table.encode() + b"\0" + text.encode())
        return position, digest.hexdigest()


class ReadStore(ReadStoreQueries, SQLiteTrackingRecorder):
    """Tables of every registered view plus the single-row `tracking` table."""

    def __init__(self, datastore: SQLiteDatastore, ddl: Sequence[str]) -> None:
        self._ddl = list(ddl)
        super().__init__(datastore)
        self.create_table()

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self._ddl]

    @contextmanager
    def writing(self) -> Iterator[SQLiteCursor]:
        with self.datastore.transaction(commit=True) as cursor:
            yield cursor

    @contextmanager
    def reading(self) -> Iterator[SQLiteCursor]:
        """One read transaction: a consistent snapshot under WAL."""
        with self.datastore.transaction(commit=False) as cursor:
            yield cursor

    def record_position(self, cursor: SQLiteCursor, view: str, position: int) -> None:
        """Raises IntegrityError unless `position` is past the view's recorded one."""
        self._insert_tracking(cursor, Tracking(view, position))

    def position(self, view: str) -> int:
        return self.max_tracking_id(view) or 0

    def position_in(self, cursor: SQLiteCursor, view: str) -> int:
        return self._max_tracking_id(view, cursor) or 0

    def close(self) -> None:
        self.datastore.close()


def open_store(db_path: Path | None, ddl: Sequence[str]) -> ReadStore:
    """A store in the ledger's SQLite file, or in a private in-memory database when None."""
    if db_path is None:
        name = f"file:read-models-{uuid.uuid4().hex}?mode=memory&cache=shared"
    else:
        name = str(db_path)
    datastore = SQLiteDatastore(name, lock_timeout=LOCK_TIMEOUT_SECONDS)
    use_statement_cache(datastore)
    return ReadStore(datastore, ddl)
