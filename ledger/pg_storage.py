"""The ledger's event recorder on PostgreSQL: a save's events, key store rows and hash chain
rows in one transaction, exactly as on SQLite (the shared `SqlKeyStore` holds the logic and the
SQL; only opening transactions differs).

Like eventsourcing's own recorder, a save takes an EXCLUSIVE lock on the events table before
inserting, so commits happen in notification-id order and a reader never passes over an id that
commits later. The lock is held for two round trips: the insert, then the chain and key rows
sent with the COMMIT. Ids can still have gaps: a failed insert consumes its sequence numbers.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL

from ledger.integrity.chain import INTEGRITY_DDL, previous_hashes
from ledger.integrity.pg_store import PostgresIntegrityStore
from ledger.keys.keystore import KeyStoreChanges
from ledger.pg_schema import connection_kwargs, create_tables_once, use_schema
from ledger.sqldialect import PgCursor, pg_ddl
from ledger.storage import KEYSTORE_DDL, SqlKeyStore, shreds

log = logging.getLogger(__name__)


class PostgresLedgerRecorder(SqlKeyStore, PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        use_schema(datastore)
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements += [SQL(pg_ddl(ddl)) for ddl in (*KEYSTORE_DDL,
                                                                     *INTEGRITY_DDL)]

    def create_table(self) -> None:
        create_tables_once(super().create_table, self.datastore, self.sql_create_statements)

    # ---- writing ----------------------------------------------------------------------------
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """Events, hash chain rows and key store rows in one transaction, in two round trips
        while the events table is locked: the insert, then the rest with the COMMIT (instead
        of eventsourcing's nested pipelines, which wait for the server several times)."""
        if not stored_events:
            return []
        changes: KeyStoreChanges | None = kwargs.get("key_changes")
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic,
                                               e.state) for e in stored_events]
        with self.datastore.get_connection() as connection:
            try:
                ids = self._insert_in_pipeline(connection, stored_events, rows, changes)
            except BaseException:
                with contextlib.suppress(Exception):
                    connection.execute("ROLLBACK")
                raise
        if shreds(changes):
            self.reclaim_key_space()
        return ids

    def _insert_in_pipeline(self, connection: psycopg.Connection[Any],
                            stored_events: Sequence[StoredEvent], rows: list[Any],
                            changes: KeyStoreChanges | None) -> list[int]:
        with connection.pipeline() as pipeline, connection.cursor() as cursor, \
                connection.cursor() as inserted:
            cursor.execute("BEGIN")
            with connection.cursor() as reading:  # before the lock: see previous_hashes
                known = previous_hashes(PgCursor(reading), stored_events)
            self._lock_table(cursor)
            self._notify_channel(cursor)
            inserted.execute(self.insert_events_statement, (rows,), prepare=True)
            pipeline.sync()  # raises IntegrityError here if another writer got there first
            ids = [row["notification_id"] for row in inserted.fetchall()]
            self._record_with_events(PgCursor(cursor, pipelined=True), stored_events, ids,
                                     changes, known)
            cursor.execute("COMMIT")
            pipeline.sync()  # a key store clash fails here, and nothing is kept
        return ids

    def reclaim_key_space(self) -> None:
        """After a shred: VACUUM prunes the deleted key rows from the tables' pages. Unlike
        SQLite's secure_delete it does not promise to overwrite the freed bytes."""
        try:
            with self.datastore.get_connection() as connection:
                connection.execute("VACUUM key_materials, data_keys")
        except Exception as error:  # the shred itself has committed; this is housekeeping
            log.warning("VACUUM of the key store failed: %s", type(error).__name__)

    # ---- reading ----------------------------------------------------------------------------
    @contextmanager
    def pg_transaction(self, commit: bool = False) -> Iterator[PgCursor]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield PgCursor(cursor)

    def _key_store_transaction(self, commit: bool) -> AbstractContextManager[Any]:
        return self.pg_transaction(commit)

    def integrity_store(self) -> PostgresIntegrityStore:
        return PostgresIntegrityStore(self.pg_transaction, self.events_table_name)

    def connect(self, **overrides: Any) -> psycopg.Connection[Any]:
        """A connection of its own (autocommit), outside the pool: for session-level locks
        and LISTEN, which must not be handed back to the pool."""
        kwargs = {**connection_kwargs(self.datastore), "autocommit": True,
                  "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                  "keepalives_count": 3, **overrides}
        return psycopg.connect(**kwargs)
