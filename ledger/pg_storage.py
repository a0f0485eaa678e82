"""The ledger's event recorder on PostgreSQL: events, key store rows and hash chain rows in one
transaction, exactly as on SQLite (the shared `SqlKeyStore` holds the logic and the SQL).

eventsourcing's recorder inserts a save's events under an EXCLUSIVE lock on the events table,
so commits happen in notification-id order and a reader never passes over an id that commits
later. The key store and chain rows are written after the insert, inside that same
transaction and lock. Ids can still have gaps: a failed insert consumes its sequence numbers.

Every connection of the ledger's pool has `search_path` set to the configured schema, so the
shared SQL names its tables without a schema, as on SQLite.
"""
from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    IntegrityError, InterfaceError, InternalError, OperationalError, StoredEvent,
)
from eventsourcing.utils import retry
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier

from ledger.integrity.chain import INTEGRITY_DDL, previous_hashes
from ledger.integrity.store import Dialect, SqlIntegrityStore
from ledger.pg_settings import check_schema
from ledger.sqldialect import PgCursor, pg_ddl
from ledger.keys.keystore import KeyStoreChanges
from ledger.storage import KEYSTORE_DDL, SqlKeyStore, shreds

log = logging.getLogger(__name__)
CREATE_ATTEMPTS = 8


def use_schema(datastore: PostgresDatastore) -> None:
    """Point every connection the pool will open at the datastore's schema (created if
    missing). Must run before the pool first opens."""
    schema = check_schema(datastore.schema)
    if not datastore.pool.closed:
        raise RuntimeError("the connection pool is open already; set the schema first")
    datastore.pool.kwargs["options"] = f"-c search_path={schema}"
    if schema == "public":
        return
    try:
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(schema)))
    except IntegrityError:
        pass  # another process created it at the same moment


def connection_kwargs(datastore: PostgresDatastore) -> dict[str, Any]:
    """What a separate connection to the same database and schema needs."""
    keys = ("dbname", "host", "port", "user", "password", "options")
    return {key: datastore.pool.kwargs[key] for key in keys if key in datastore.pool.kwargs}


def sibling_datastore(datastore: PostgresDatastore, pool_size: int = 2,
                      max_overflow: int = 10) -> PostgresDatastore:
    """A second pool on the same database and schema (the read models keep their own)."""
    kwargs = connection_kwargs(datastore)
    sibling = PostgresDatastore(
        dbname=kwargs["dbname"], host=kwargs["host"], port=kwargs["port"], user=kwargs["user"],
        password=kwargs["password"], pool_size=pool_size, max_overflow=max_overflow,
        schema=datastore.schema, lock_timeout=datastore.lock_timeout,
        idle_in_transaction_session_timeout=datastore.idle_in_transaction_session_timeout)
    sibling.pool.kwargs["options"] = kwargs.get("options", "")
    return sibling


_CREATED = re.compile(r'CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (?:"?\w+"?\.)?"?(\w+)"?')


def schema_complete(datastore: PostgresDatastore, statements: Sequence[Any]) -> bool:
    """Whether every table and index these statements create exists already. A process
    joining a running ledger then runs no DDL at all: `CREATE INDEX IF NOT EXISTS` locks its
    table even when the index exists, which would deadlock with concurrent writers."""
    names = {match.group(1) for statement in statements
             for match in _CREATED.finditer(_text(statement))}
    if not names:
        return False
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("SELECT COUNT(*) AS found FROM pg_class c JOIN pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
                       (datastore.schema, sorted(names)))
        row = cursor.fetchone()
    return row is not None and row["found"] == len(names)


def _text(statement: Any) -> str:
    return statement if isinstance(statement, str) else statement.as_string()


def create_tables_once(create: Callable[[], None], datastore: PostgresDatastore,
                       statements: Sequence[Any]) -> None:
    """Run `create` unless the schema is complete; retried when processes starting together
    collide in the catalog (duplicate type or table, deadlock between DDL statements)."""
    for attempt in range(CREATE_ATTEMPTS):
        if schema_complete(datastore, statements):
            return
        try:
            create()
            return
        except (IntegrityError, OperationalError, InternalError):
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


class PgDialect(Dialect):
    """Events keep uuid originator ids; the chain hashes their 32-hex-digit text."""

    def __init__(self, events_table: str) -> None:
        super().__init__(events=events_table, pos="notification_id",
                         eoid="replace(e.originator_id::text, '-', '')",
                         hoid="h.originator_id::uuid", cast_blob=False)

    def originator_param(self, originator_id: str) -> Any:
        return UUID(originator_id)


class PostgresIntegrityStore(SqlIntegrityStore):
    """The hash chain and digests beside a PostgreSQL log. Positions have gaps where inserts
    failed, so a missing position is no evidence of a deleted event here; deletions show as
    digest mismatches or as hashes whose event is gone."""

    contiguous_positions = False

    def __init__(self, recorder: PostgresLedgerRecorder) -> None:
        super().__init__(recorder.pg_transaction, PgDialect(recorder.events_table_name))


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
            known = previous_hashes(PgCursor(connection.cursor()), stored_events)  # unlocked
            self._lock_table(cursor)
            self._notify_channel(cursor)
            inserted.execute(self.insert_events_statement, (rows,), prepare=True)
            pipeline.sync()  # raises IntegrityError here if another writer got there first
            ids = [row["notification_id"] for row in inserted.fetchall()]
            self._record_with_events(PgCursor(cursor), stored_events, ids, changes, known)
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
        return PostgresIntegrityStore(self)

    def connect(self, **overrides: Any) -> psycopg.Connection[Any]:
        """A connection of its own (autocommit), outside the pool: for session-level locks
        and LISTEN, which must not be handed back to the pool."""
        kwargs = {**connection_kwargs(self.datastore), "autocommit": True,
                  "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                  "keepalives_count": 3, **overrides}
        return psycopg.connect(**kwargs)
