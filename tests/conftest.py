"""Shared fixtures: a ledger in memory, on SQLite and on PostgreSQL, a clock, callers."""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.secret import Limits
from tests.grants import grant_full_access
from tests.scaleout.pg import STORE_PARAMS, pytest_runtest_makereport, store_env  # noqa: F401


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run tests marked slow, and run property tests far longer")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow` are skipped unless --slow is given."""
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long-running; run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


class Clock:
    """A clock tests move by hand, so time-dependent rules need no patching."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 17, 3, 12, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def caller() -> Caller:
    return Caller(arn="arn:aws:iam::123456789012:user/alice", access_key_id="AKIAALICE000000001",
                  principal_id="AIDAALICE")


@pytest.fixture(params=STORE_PARAMS)
def ledger(request, tmp_path, clock) -> Iterator[SecretsLedger]:
    """The ledger on each store; behaviour tests run against all three (postgres is skipped,
    with the reason shown, unless POSTGRES_* are set; each test gets its own schema). Policies
    are enforced: the test callers hold an allow-all identity policy (tests/grants.py)."""
    with store_env(request.param) as (store, env):
        data_dir = None if request.param == "memory" else tmp_path / "data"
        config = LedgerConfig(data_dir=data_dir, limits=Limits(max_versions=10), store=store)
        ledger = SecretsLedger(config, clock=clock, rng=random.Random(7), env=env)
        grant_full_access(ledger)
        yield ledger
        ledger.close()


@pytest.fixture
def sqlite_ledger(tmp_path, clock) -> SecretsLedger:
    config = LedgerConfig(data_dir=tmp_path / "data", limits=Limits(max_versions=10))
    ledger = SecretsLedger(config, clock=clock, rng=random.Random(7))
    grant_full_access(ledger)
    return ledger
