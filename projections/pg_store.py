"""The read models' store on PostgreSQL: the views' tables and the `tracking` table in the
ledger's own database and schema, written in one transaction.

Views run the same SQL as on SQLite (see `ledger.sqldialect`); this store only opens the
transactions. A read is one REPEATABLE READ transaction, so a secret and its versions, labels
and tags are read from one snapshot, as SQLite's WAL gives them.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL

from ledger.pg_schema import create_tables_once
from ledger.sqldialect import PgCursor, pg_ddl
from projections.store import ReadStoreQueries


class PgReadStore(ReadStoreQueries, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, ddl: Sequence[str]) -> None:
        super().__init__(datastore, tracking_table_name="tracking")
        self.sql_create_statements += [SQL(pg_ddl(statement)) for statement in ddl]
        self.create_table()

    def create_table(self) -> None:
        create_tables_once(super().create_table, self.datastore, self.sql_create_statements)

    @contextmanager
    def writing(self) -> Iterator[PgCursor]:
        """One transaction, pipelined: a batch's many small statements go to the server
        without waiting for each other's results, only for those something reads."""
        with self.datastore.get_connection() as connection, connection.pipeline(), \
                connection.transaction(), connection.cursor() as cursor:
            yield PgCursor(cursor, pipelined=True)

    @contextmanager
    def reading(self) -> Iterator[PgCursor]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PgCursor(cursor)

    def record_position(self, cursor: PgCursor, view: str, position: int) -> None:
        """Raises IntegrityError unless `position` is past the view's recorded one."""
        self._insert_tracking(cursor.raw, Tracking(view, position))

    def position(self, view: str) -> int:
        return self.max_tracking_id(view) or 0

    def positions(self, views: Sequence[str]) -> dict[str, int]:
        """Several views' positions in one query."""
        with self.datastore.transaction(commit=False) as raw:
            cursor = PgCursor(raw)
            cursor.execute("SELECT application_name, notification_id FROM tracking "
                           "WHERE application_name = ANY(?)", (list(views),))
            found = {row[0]: row[1] for row in cursor.fetchall()}
        return {view: found.get(view) or 0 for view in views}

    def position_in(self, cursor: PgCursor, view: str) -> int:
        return self._max_tracking_id(view, cursor.raw) or 0

    def close(self) -> None:
        self.datastore.close()
