"""Fixtures of the authorization tests: enforcing ledgers, principals with policies, and the
real server in a subprocess (started as tests/server does, with its helpers)."""
from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.keys.admin import KeyAdmin
from ledger.principals import Principals
from ledger.secret import Limits
from tests.authorization.drivers import EmbeddedDriver, HttpDriver
from tests.core.support import secret_of
from tests.server.conftest import ROOT_ENV, AuditLog, ServerProcess, make_client

ACCOUNT = "123456789012"
ROOT = Caller(arn=f"arn:aws:iam::{ACCOUNT}:root", principal_type="Root", principal_id=ACCOUNT)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


class World:
    """A ledger with users alice and bob and role deployer, and helpers to grant and call."""

    def __init__(self, ledger: SecretsLedger) -> None:
        self.ledger, self.system = ledger, Caller.system()
        self.admin = Principals(ledger, user_agent="secrets-ledger-cli")
        for name in ("alice", "bob"):
            self.admin.create(name)
        self.admin.create("deployer", role=True)

    def caller(self, name: str) -> Caller:
        if name == "root":
            return ROOT
        return self.admin.find(name).caller(f"AKIA{name.upper():0>16}")

    def grant(self, name: str, *statements: dict[str, Any], policy_name: str = "p") -> None:
        self.admin.put_policy(name, policy_name, policy(*statements))

    def call(self, name: str, operation: str, **request: Any) -> dict[str, Any]:
        return self.ledger.call(operation, request, self.caller(name))

    def as_system(self, operation: str, **request: Any) -> dict[str, Any]:
        return self.ledger.call(operation, request, self.system)


def refused(world: World, who: str, operation: str, **request: Any) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        world.call(who, operation, **request)
    return caught.value


def data_key_arns(ledger: SecretsLedger, name: str) -> dict[str, str]:
    """VersionId -> the ARN of the KMS key its data key is wrapped under (the key store's word)."""
    secret = secret_of(ledger, name)
    return {vid: ledger.key_store.data_key(secret.id.hex, vid).key_arn
            for vid in secret.versions}


@pytest.fixture(params=["memory", "sqlite"])
def world(request, tmp_path, clock) -> World:
    data_dir = None if request.param == "memory" else tmp_path / "data"
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir, limits=Limits(max_versions=50)),
                           clock=clock, rng=random.Random(21))
    return World(ledger)


@pytest.fixture
def keys(world: World) -> KeyAdmin:
    return KeyAdmin(world.ledger, user_agent="secrets-ledger-cli")


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def embedded_driver(request, tmp_path_factory) -> EmbeddedDriver:
    data_dir = None if request.param == "memory" else tmp_path_factory.mktemp("matrix") / "d"
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir), rng=random.Random(5))
    return EmbeddedDriver(ledger)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("authz-server") / "data", ROOT_ENV).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def audit(server: ServerProcess) -> Iterator[AuditLog]:
    log = AuditLog(server.data_dir)
    yield log
    log.close()


@pytest.fixture(scope="module")
def http_driver(server: ServerProcess, audit: AuditLog) -> HttpDriver:
    return HttpDriver(server.url, audit.ledger, make_client(server.url))
