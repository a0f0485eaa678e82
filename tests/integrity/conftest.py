"""Ledgers on SQLite with digests under the test's control, a scripted history, and a handle
on the database file underneath for tampering."""
from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.secret import Limits
from tests.grants import grant_full_access
from tests.scaleout.pg import STORE_PARAMS, store_env

OPERATIONS = ("PutSecretValue", "GetSecretValue", "DescribeSecret", "UpdateSecret",
              "TagResource", "UpdateSecretVersionStage", "DeleteSecret", "RestoreSecret",
              "CreateSecret", "ListSecrets")


def open_ledger(data_dir: Path | None, clock, env: dict[str, str] | None = None,
                **config) -> SecretsLedger:
    settings = {"limits": Limits(max_versions=5), "digest_interval": None, **config}
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir, **settings), clock=clock,
                           rng=random.Random(11), env=env)
    grant_full_access(ledger, "user/auditor")  # policies are enforced; the caller may do all
    return ledger


def random_history(ledger: SecretsLedger, caller: Caller, clock, rng: random.Random,
                   calls: int) -> int:
    """`calls` API calls of many kinds over a handful of secrets (failures included);
    returns how many calls were made, every one of which leaves an audit record."""
    names = [f"app/{i}" for i in range(4)]
    for name in names[:2]:
        try:
            ledger.call("CreateSecret", {"Name": name, "SecretString": f"v-{name}"}, caller)
        except LedgerError:
            pass  # already there from an earlier stretch of history
    made = 2
    for _ in range(calls - 2):
        clock.advance(minutes=rng.randint(1, 90))
        name, operation = rng.choice(names), rng.choice(OPERATIONS)
        request: dict = {"SecretId": name}
        if operation == "PutSecretValue":
            request["SecretString"] = f"value-{rng.random()}"
        elif operation == "UpdateSecret":
            request["Description"] = f"d{rng.randint(0, 9)}"
        elif operation == "TagResource":
            request["Tags"] = [{"Key": f"k{rng.randint(0, 3)}", "Value": "v"}]
        elif operation == "UpdateSecretVersionStage":
            request.update(VersionStage="AWSCURRENT", MoveToVersionId="0" * 32)
        elif operation == "DeleteSecret":
            request["RecoveryWindowInDays"] = 7
        elif operation == "CreateSecret":
            request = {"Name": name, "SecretString": "fresh"}
        elif operation == "ListSecrets":
            request = {}
        try:
            ledger.call(operation, request, caller)
        except LedgerError:
            pass  # failed calls are recorded too
        made += 1
    return made


@pytest.fixture(params=STORE_PARAMS)
def any_ledger(request, tmp_path, clock) -> Iterator[SecretsLedger]:
    """A ledger on each store (PostgreSQL: a schema of its own), for tests that only go
    through the ledger, never around it to the database underneath."""
    with store_env(request.param) as (store, env):
        data_dir = None if request.param == "memory" else tmp_path / "d"
        ledger = open_ledger(data_dir, clock, env, store=store)
        yield ledger
        ledger.close()


@pytest.fixture
def caller() -> Caller:
    return Caller(arn="arn:aws:iam::123456789012:user/auditor", access_key_id="AKIAAUDITOR0000001",
                  principal_id="AIDAAUDITOR")


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_ledger(data_dir, clock) -> Callable[..., SecretsLedger]:
    return lambda **config: open_ledger(data_dir, clock, **config)


@pytest.fixture
def db(data_dir) -> Iterator[Callable[[], sqlite3.Connection]]:
    """Connections straight to the file, as someone with write access to the disk would open it."""
    opened: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(data_dir / "ledger.db", isolation_level=None)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()
