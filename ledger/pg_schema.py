"""PostgreSQL plumbing shared by the recorder and the read models: one schema for everything,
sibling connections to it, and creating tables once when several processes start together.

Every connection has `search_path` set to the configured schema, so the ledger's SQL (shared
with SQLite) names its tables without a schema.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, InternalError, OperationalError
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from ledger.pg_settings import check_schema

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
