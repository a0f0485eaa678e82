"""A known history of prod/db (and a force-deleted tmp/gone), built call by call on a clock."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.secret import Limits
from tests.grants import grant_full_access

ACCOUNT = "123456789012"
ALICE = Caller(arn=f"arn:aws:iam::{ACCOUNT}:user/alice", access_key_id="AKIAALICE000000001")
BOB = Caller(arn=f"arn:aws:iam::{ACCOUNT}:user/bob", access_key_id="AKIABOB0000000000002")
CAROL = Caller(arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/carol-session",
               access_key_id="ASIACAROL000000003", principal_type="AssumedRole")
MALLORY = Caller(arn=f"arn:aws:iam::{ACCOUNT}:user/mallory")  # no policy: every call denied
VALUES = ["Hv-value-one-7Q", "Hv-value-two-7Q", "Hv-value-three-7Q", "Hv-value-four-7Q",
          "Hv-gone-value-7Q"]


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=timezone.utc)


@dataclass
class Known:
    """What the scripted history did: version ids in order, the key, the denied request."""

    ledger: SecretsLedger
    versions: list[str] = field(default_factory=list)
    key_arn: str = ""
    denied_request: str = "req-denied-0001"
    failed_request: str = "req-failed-0001"


def make(data_dir, clock) -> SecretsLedger:
    """At most 3 versions, so the fourth one's arrival removes (shreds) an unlabelled one."""
    config = LedgerConfig(data_dir=data_dir, limits=Limits(max_versions=3))
    ledger = SecretsLedger(config, clock=clock, rng=random.Random(5))
    grant_full_access(ledger, "user/alice", "user/bob", "role/deployer")
    return ledger


def known_history(ledger: SecretsLedger, clock) -> Known:
    """prod/db, day 17:
      03:12 alice creates it (v1, sensitivity=high)     03:20 bob reads AWSCURRENT (v1)
      03:30 bob puts v2                                  03:40 carol moves it to a team key
                                                               and a new description
      03:45 alice puts v3 as AWSPENDING                  03:50 alice moves AWSCURRENT to v3
      03:51 alice removes AWSPENDING from v3             03:52 alice labels v1 BLUE
      03:55 bob reads AWSPREVIOUS (v2)                   03:56 mallory is denied a read
      03:57 bob asks for a version that does not exist   04:00 alice tags team=core
      day 18, 05:00 alice puts v4: v2 (no label, > 24 h old) is removed and shredded
      day 18, 06:00 alice schedules deletion, 06:05 restores it
    tmp/gone, day 18 07:00: created and force-deleted."""
    known = Known(ledger)
    call = ledger.call
    clock.now = at(17, 3, 12)
    known.versions.append(call("CreateSecret", {
        "Name": "prod/db", "SecretString": VALUES[0], "Description": "primary database",
        "Tags": [{"Key": "sensitivity", "Value": "high"}]}, ALICE)["VersionId"])
    clock.now = at(17, 3, 20)
    call("GetSecretValue", {"SecretId": "prod/db"}, BOB, request_id="req-read-0001")
    clock.now = at(17, 3, 30)
    known.versions.append(call("PutSecretValue", {"SecretId": "prod/db",
                                                  "SecretString": VALUES[1]}, BOB)["VersionId"])
    clock.now = at(17, 3, 40)
    key = ledger.kms.create_key("team key", clock(), {"request_id": "key-setup"})
    known.key_arn = key.arn
    call("UpdateSecret", {"SecretId": "prod/db", "KmsKeyId": key.arn,
                          "Description": "primary database (team key)"}, CAROL)
    clock.now = at(17, 3, 45)
    known.versions.append(call("PutSecretValue", {
        "SecretId": "prod/db", "SecretString": VALUES[2], "VersionStages": ["AWSPENDING"]},
        ALICE)["VersionId"])
    v1, v2, v3 = known.versions
    clock.now = at(17, 3, 50)
    call("UpdateSecretVersionStage", {"SecretId": "prod/db", "VersionStage": "AWSCURRENT",
                                      "MoveToVersionId": v3, "RemoveFromVersionId": v2}, ALICE)
    clock.now = at(17, 3, 51)
    call("UpdateSecretVersionStage", {"SecretId": "prod/db", "VersionStage": "AWSPENDING",
                                      "RemoveFromVersionId": v3}, ALICE)
    clock.now = at(17, 3, 52)
    call("UpdateSecretVersionStage", {"SecretId": "prod/db", "VersionStage": "BLUE",
                                      "MoveToVersionId": v1}, ALICE)
    clock.now = at(17, 3, 55)
    call("GetSecretValue", {"SecretId": "prod/db", "VersionStage": "AWSPREVIOUS"}, BOB,
         request_id="req-read-0002")
    clock.now = at(17, 3, 56)
    with pytest.raises(LedgerError):
        call("GetSecretValue", {"SecretId": "prod/db"}, MALLORY,
             request_id=known.denied_request)
    clock.now = at(17, 3, 57)
    with pytest.raises(LedgerError):
        call("GetSecretValue", {"SecretId": "prod/db",
                                "VersionId": "00000000-0000-4000-8000-000000000000"}, BOB,
             request_id=known.failed_request)
    clock.now = at(17, 4, 0)
    call("TagResource", {"SecretId": "prod/db", "Tags": [{"Key": "team", "Value": "core"}]},
         ALICE)
    clock.now = at(18, 5, 0)
    known.versions.append(call("PutSecretValue", {"SecretId": "prod/db",
                                                  "SecretString": VALUES[3]}, ALICE)["VersionId"])
    clock.now = at(18, 6, 0)
    call("DeleteSecret", {"SecretId": "prod/db", "RecoveryWindowInDays": 7}, ALICE)
    clock.now = at(18, 6, 5)
    call("RestoreSecret", {"SecretId": "prod/db"}, ALICE)
    clock.now = at(18, 7, 0)
    call("CreateSecret", {"Name": "tmp/gone", "SecretString": VALUES[4]}, ALICE)
    call("DeleteSecret", {"SecretId": "tmp/gone", "ForceDeleteWithoutRecovery": True}, ALICE)
    return known


@pytest.fixture(params=["memory", "sqlite"])
def known(request, tmp_path, clock) -> Known:
    data_dir = None if request.param == "memory" else tmp_path / "data"
    return known_history(make(data_dir, clock), clock)


@pytest.fixture
def sqlite_known(tmp_path, clock) -> Known:
    return known_history(make(tmp_path / "data", clock), clock)


SKIPPED: list[str] = []  # reasons browser tests were skipped, printed at the end of the run


def pytest_terminal_summary(terminalreporter) -> None:
    for reason in dict.fromkeys(SKIPPED):
        terminalreporter.write_line(f"tests/history: skipped: {reason}", yellow=True)
