"""One SQL text for SQLite and PostgreSQL: what differs is only placeholders, types and rows.

The ledger's own SQL (key store, hash chain, read models) is written once, in the common subset
of both dialects, with `?` placeholders and SQLite's type names. On PostgreSQL a cursor wrapper
turns `?` into `%s` and `INTEGER`/`BLOB` into `BIGINT`/`BYTEA`, and returns rows that can be
read by position or by column name, as `sqlite3.Row` can. Nothing else is translated, so a
statement that is not portable fails on PostgreSQL instead of silently meaning something else.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

_INTEGER = re.compile(r"\bINTEGER\b")
_BLOB = re.compile(r"\bBLOB\b")
_WITHOUT_ROWID = re.compile(r"\s*\bWITHOUT ROWID\b")
_VALUES = re.compile(r"^(INSERT INTO \w+ VALUES )(\((?:\?, )*\?\))(.*)$", re.S)


@lru_cache(maxsize=1024)
def pg_statement(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def pg_ddl(sql: str) -> str:
    """SQLite DDL as PostgreSQL DDL: 64-bit integers, bytea, no rowid clause."""
    sql = _WITHOUT_ROWID.sub("", sql)
    return _BLOB.sub("BYTEA", _INTEGER.sub("BIGINT", sql))


class Row(tuple):
    """A result row readable by index and by column name, like `sqlite3.Row`."""

    _index: dict[str, int]

    def __new__(cls, values: Iterable[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    index = {column.name: i for i, column in enumerate(description)}
    return lambda values: Row(values, index)


class PgCursor:
    """A psycopg cursor that accepts the common SQL text (see the module docstring)."""

    def __init__(self, cursor: Any, pipelined: bool = False) -> None:
        """`pipelined`: the connection is in pipeline mode, so statements can be queued."""
        cursor.row_factory = _row_factory
        self._cursor, self._pipelined = cursor, pipelined

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        if params:
            self._cursor.execute(pg_statement(sql), tuple(params))
        else:  # no parameters: psycopg takes the text as it is
            self._cursor.execute(sql)
        return self

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> None:
        """An `INSERT ... VALUES (?, ...)` becomes one multi-row INSERT: psycopg's executemany
        waits for the server, a single statement can stay in the pipeline until commit. The
        rows must not repeat a key that an ON CONFLICT clause resolves."""
        rows = [tuple(params) for params in seq_of_params]
        if not rows:
            return
        match = _VALUES.match(sql)
        if match is None:
            if self._pipelined:  # queue each one; psycopg's executemany would wait
                for row in rows:
                    self._cursor.execute(pg_statement(sql), row)
            else:
                self._cursor.executemany(pg_statement(sql), rows)
            return
        head, group, tail = match.groups()
        statement = head + ", ".join([group] * len(rows)) + tail
        self._cursor.execute(pg_statement(statement), [v for row in rows for v in row])

    def fetchone(self) -> Row | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Row]:
        return self._cursor.fetchall()

    def __iter__(self) -> Any:
        return iter(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def raw(self) -> Any:
        """The psycopg cursor underneath, for PostgreSQL-only statements."""
        return self._cursor
