"""Fixtures of the scale-out tests: a ledger in a fresh PostgreSQL schema."""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.secret import Limits
from tests.grants import grant_full_access
from tests.scaleout.pg import fresh_schema, schema_env


@pytest.fixture
def pg_schema() -> Iterator[str]:
    with fresh_schema() as schema:
        yield schema


@pytest.fixture
def open_pg_ledger(pg_schema, tmp_path, clock) -> Iterator[Callable[..., SecretsLedger]]:
    """Ledgers on one schema and one data directory (so one root key), closed afterwards:
    each is what another process on the same database would hold."""
    opened: list[SecretsLedger] = []

    def open_ledger(**config: object) -> SecretsLedger:
        settings = {"limits": Limits(max_versions=10), "digest_interval": None, **config}
        ledger = SecretsLedger(LedgerConfig(data_dir=tmp_path / "data", store="postgres",
                                            **settings),
                               clock=clock, rng=random.Random(len(opened)),
                               env=schema_env(pg_schema))
        opened.append(ledger)
        if len(opened) == 1:
            grant_full_access(ledger)
        return ledger

    yield open_ledger
    for ledger in opened:
        ledger.close()


@pytest.fixture
def pg_ledger(open_pg_ledger) -> SecretsLedger:
    return open_pg_ledger()
