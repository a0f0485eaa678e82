"""PostgreSQL for tests: whether one is configured, and a fresh schema per test.

Tests reach PostgreSQL through the POSTGRES_* settings (`eval "$(tools/pg_throwaway.sh start)"`
prints them). Each test gets a schema of its own, dropped afterwards, so tests never see each
other's events, keys or views.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ledger.pg_settings import REQUIRED, configured

SKIP_REASON = ("PostgreSQL not configured: set " + ", ".join(REQUIRED)
               + " (eval \"$(bash tools/pg_throwaway.sh start)\" prints them)")
TEST_POOL = {"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "13"}


def require_postgres() -> None:
    if not configured():
        pytest.skip(SKIP_REASON)


_REQUIRE_LINE = require_postgres.__code__.co_firstlineno + 2  # its skip line


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Report every "no PostgreSQL" skip at one place, so `-rs` prints the reason once with
    a count instead of once per test. Active where imported into a conftest."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple) and \
            str(report.longrepr[2]).endswith(SKIP_REASON):
        report.longrepr = ("tests/scaleout/pg.py", _REQUIRE_LINE, report.longrepr[2])


def connection_settings() -> dict[str, str]:
    return {"dbname": os.environ["POSTGRES_DBNAME"], "host": os.environ["POSTGRES_HOST"],
            "port": os.environ.get("POSTGRES_PORT", "5432"), "user": os.environ["POSTGRES_USER"],
            "password": os.environ["POSTGRES_PASSWORD"]}


def connect(settings: dict[str, str] | None = None, **overrides: object):
    import psycopg
    return psycopg.connect(**(settings or connection_settings()), autocommit=True, **overrides)


def drop_schema(name: str, settings: dict[str, str] | None = None) -> None:
    with connect(settings) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A schema name no test used before; the schema (if created) is dropped on exit."""
    require_postgres()
    name, settings = f"t_{uuid.uuid4().hex[:16]}", connection_settings()
    try:
        yield name
    finally:
        drop_schema(name, settings)


def schema_env(schema: str) -> dict[str, str]:
    """Settings for a ledger in `schema`, with a small connection pool."""
    return {"POSTGRES_SCHEMA": schema, **TEST_POOL}


@contextmanager
def store_env(param: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(LedgerConfig.store, SecretsLedger env) for a fixture param: memory, sqlite or postgres."""
    if param != "postgres":
        yield "sqlite", {}
        return
    with fresh_schema() as schema:
        yield "postgres", schema_env(schema)


STORE_PARAMS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""Fixture params for a ledger on every store (see `store_env`)."""
