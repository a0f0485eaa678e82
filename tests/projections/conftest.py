"""Fixtures of the read side: a scripted history covering every event the views handle."""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.secret import Limits
from tests.grants import grant_full_access
from tests.scaleout.pg import STORE_PARAMS, store_env

ACCOUNT = "123456789012"
BOB = Caller(arn=f"arn:aws:iam::{ACCOUNT}:user/bob", access_key_id="AKIABOB0000000000002",
             principal_id="AIDABOB")
CAROL = Caller(arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/carol-session",
               access_key_id="ASIACAROL000000003", principal_type="AssumedRole",
               principal_id="AROACAROL:carol-session")


@dataclass
class History:
    """What a scripted run did, so tests can check the views against it."""

    values: list[str] = field(default_factory=list)  # every value stored, for leak scans
    binary_values: list[bytes] = field(default_factory=list)
    calls: int = 0
    failures: int = 0


def run(ledger: SecretsLedger, history: History, operation: str, caller: Caller,
        **request) -> dict | None:
    history.calls += 1
    try:
        return ledger.call(operation, request, caller, source_ip="10.0.0.7",
                           user_agent="aws-cli/2.15 test")
    except LedgerError:
        history.failures += 1
        return None


def scripted_history(ledger: SecretsLedger, clock, alice: Caller) -> History:
    """Creates, puts, label moves, key change, tags, description, reads, failures, deletion,
    restore, force delete, the cleanup rule and the end of a recovery window."""
    h = History()
    h.values += ["Vq9-db-0001-kTz", "Vq9-db-0002-kTz", "Vq9-db-0003-kTz", "Vq9-api-qqqq1111",
                 "Vq9-api-zzzz2222", "Vq9-tmp-value-zz"]
    h.binary_values.append(b"\x00Vq9-binary-bytes\xff")
    run(ledger, h, "CreateSecret", alice, Name="prod/db", SecretString=h.values[0],
        Description="primary database", Tags=[{"Key": "team", "Value": "core"},
                                              {"Key": "env", "Value": "prod"}])
    clock.advance(minutes=1)
    run(ledger, h, "PutSecretValue", BOB, SecretId="prod/db", SecretString=h.values[1])
    clock.advance(minutes=1)
    key = ledger.kms.create_key("team key", clock(), {"request_id": "setup"})
    run(ledger, h, "UpdateSecret", CAROL, SecretId="prod/db", KmsKeyId=key.arn,
        Description="primary database (rotated key)")
    run(ledger, h, "PutSecretValue", alice, SecretId="prod/db", SecretString=h.values[2],
        VersionStages=["STAGED"])
    run(ledger, h, "CreateSecret", BOB, Name="svc/api", SecretString=h.values[3])
    run(ledger, h, "CreateSecret", BOB, Name="svc/blob", SecretBinary=h.binary_values[0])
    run(ledger, h, "TagResource", alice, SecretId="svc/api", Tags=[{"Key": "team", "Value": "x"}])
    run(ledger, h, "UntagResource", alice, SecretId="prod/db", TagKeys=["team"])
    run(ledger, h, "TagResource", alice, SecretId="prod/db", Tags=[{"Key": "team", "Value": "y"}])
    run(ledger, h, "GetSecretValue", BOB, SecretId="prod/db")
    run(ledger, h, "BatchGetSecretValue", CAROL, SecretIdList=["prod/db", "svc/api", "nope"])
    run(ledger, h, "DescribeSecret", alice, SecretId="does/not/exist")  # fails
    run(ledger, h, "ListSecrets", alice)
    run(ledger, h, "ListSecretVersionIds", alice, SecretId="prod/db", IncludeDeprecated=True)
    run(ledger, h, "GetRandomPassword", alice, PasswordLength=20)
    clock.advance(minutes=1)
    run(ledger, h, "PutSecretValue", alice, SecretId="svc/api", SecretString=h.values[4])
    run(ledger, h, "UpdateSecretVersionStage", CAROL, SecretId="svc/api",
        VersionStage="AWSCURRENT", MoveToVersionId=_version(ledger, "svc/api", "AWSPREVIOUS"),
        RemoveFromVersionId=_version(ledger, "svc/api", "AWSCURRENT"))
    run(ledger, h, "CreateSecret", alice, Name="tmp/gone", SecretString=h.values[5])
    run(ledger, h, "DeleteSecret", alice, SecretId="tmp/gone", ForceDeleteWithoutRecovery=True)
    run(ledger, h, "DeleteSecret", alice, SecretId="svc/blob", RecoveryWindowInDays=7)
    run(ledger, h, "RestoreSecret", alice, SecretId="svc/blob")
    run(ledger, h, "CreateSecret", alice, Name="old/app", SecretString="Vq9-old-app-1")
    h.values.append("Vq9-old-app-1")
    run(ledger, h, "DeleteSecret", alice, SecretId="old/app", RecoveryWindowInDays=7)
    run(ledger, h, "PutSecretValue", BOB, SecretId="old/app", SecretString="Vq9-refused-9")
    h.values.append("Vq9-refused-9")
    # The cleanup rule: past the version limit, label-less versions older than 24 h go.
    for i in range(ledger.config.limits.max_versions + 1):
        value = f"Vq9-cleanup-{i:02d}"
        h.values.append(value)
        run(ledger, h, "PutSecretValue", alice, SecretId="svc/api", SecretString=value)
        clock.advance(hours=3)
    clock.advance(days=8)
    run(ledger, h, "PutSecretValue", alice, SecretId="svc/api", SecretString="Vq9-after-1")
    h.values.append("Vq9-after-1")
    ledger.purge_expired()  # old/app's recovery window ended: a service event
    ledger.kms.set_state(key.arn, "Disabled", clock(), {"request_id": "setup"})
    run(ledger, h, "GetSecretValue", BOB, SecretId="prod/db")  # DecryptionFailure
    ledger.kms.set_state(key.arn, "Enabled", clock(), {"request_id": "setup"})
    return h


def _version(ledger: SecretsLedger, name: str, label: str) -> str:
    return ledger.find_secret(name).labels[label]


@pytest.fixture
def history_ledger(ledger, clock, caller) -> tuple[SecretsLedger, History]:
    return ledger, scripted_history(ledger, clock, caller)


def make_ledger(data_dir, clock, max_versions: int = 10, store: str = "sqlite",
                env: dict[str, str] | None = None) -> SecretsLedger:
    config = LedgerConfig(data_dir=data_dir, limits=Limits(max_versions=max_versions,
                                                           version_min_age=timedelta(hours=24)),
                          store=store)
    ledger = SecretsLedger(config, clock=clock, rng=random.Random(11), env=env)
    grant_full_access(ledger)
    return ledger


@pytest.fixture(scope="module", params=STORE_PARAMS)
def shared_history(request, tmp_path_factory) -> Iterator[tuple[SecretsLedger, History]]:
    """One scripted history per module and store, for tests that only read it."""
    from tests.conftest import Clock
    clock = Clock()
    with store_env(request.param) as (store, env):
        data_dir = (None if request.param == "memory"
                    else tmp_path_factory.mktemp("history") / "d")
        ledger = make_ledger(data_dir, clock, store=store, env=env)
        alice = Caller(arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
                       access_key_id="AKIAALICE000000001", principal_id="AIDAALICE")
        yield ledger, scripted_history(ledger, clock, alice)
        ledger.close()
