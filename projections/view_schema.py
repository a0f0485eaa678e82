"""Views whose tables were made by other DDL are dropped before the store opens, and rebuilt.

A view is derived from the log, so when its tables change shape the cheapest correct upgrade is
to forget it: its tables and its position go, and the next read catches it up from 0. Each
view's DDL is remembered by digest in `view_schemas`; a file whose views predate that table is
treated as stale. Only SQLite files need this: in-memory stores are always new.
"""
from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ledger.sqlite_pool import LOCK_TIMEOUT_SECONDS


def ddl_digest(view: Any) -> str:
    return hashlib.sha256("\n".join([view.name, *view.ddl]).encode()).hexdigest()


def retire_stale_views(db_path: Path, views: Iterable[Any]) -> list[str]:
    """Drop the tables and position of each view whose stored DDL digest differs from its
    current one; returns the names of the views dropped."""
    connection = sqlite3.connect(str(db_path), timeout=LOCK_TIMEOUT_SECONDS,
                                 isolation_level=None)
    dropped = []
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("CREATE TABLE IF NOT EXISTS view_schemas (view TEXT PRIMARY KEY, "
                           "ddl_digest TEXT NOT NULL)")
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for view in views:
            digest = ddl_digest(view)
            row = connection.execute("SELECT ddl_digest FROM view_schemas WHERE view = ?",
                                     (view.name,)).fetchone()
            if row is not None and row[0] == digest:
                continue
            if row is not None or tables & set(view.tables):
                for table in view.tables:
                    connection.execute(f"DROP TABLE IF EXISTS {table}")
                if "tracking" in tables:
                    connection.execute("DELETE FROM tracking WHERE application_name = ?",
                                       (view.name,))
                dropped.append(view.name)
            connection.execute("INSERT INTO view_schemas VALUES (?, ?) ON CONFLICT (view) "
                               "DO UPDATE SET ddl_digest = excluded.ddl_digest",
                               (view.name, digest))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()
    return dropped
