"""Point-in-time: a secret or the whole ledger as of a time or a log position."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ledger.errors import LedgerError
from projections import export
from projections.point_in_time import (
    Bound, label_history, ledger_as_of, secret_as_of, value_as_of,
)
from tests.projections.conftest import BOB, CAROL


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 17, hour, minute, tzinfo=timezone.utc)


@pytest.fixture
def prod_db(ledger, clock, caller):
    """prod/db: v1 by alice at 02:00, v2 by bob at 03:05, team key by carol at 03:10,
    AWSCURRENT back to v1 by alice at 03:20, v3 by alice at 03:30. Observations along the way."""
    observed = {}

    def step(when, label):
        observed[label] = (when, ledger.recorder.max_notification_id(),
                           ledger.call("DescribeSecret", {"SecretId": "prod/db"}, caller))

    clock.now = at(2, 0)
    v1 = ledger.call("CreateSecret", {"Name": "prod/db", "SecretString": "Pit-value-one"},
                     caller)["VersionId"]
    step(at(2, 0), "created")
    clock.now = at(3, 5)
    v2 = ledger.call("PutSecretValue", {"SecretId": "prod/db", "SecretString": "Pit-value-two"},
                     BOB)["VersionId"]
    step(at(3, 5), "v2")
    clock.now = at(3, 10)
    key = ledger.kms.create_key("team key", clock(), {"request_id": "setup"})
    ledger.call("UpdateSecret", {"SecretId": "prod/db", "KmsKeyId": key.arn}, CAROL)
    step(at(3, 10), "rekeyed")
    clock.now = at(3, 20)
    ledger.call("UpdateSecretVersionStage", {"SecretId": "prod/db", "VersionStage": "AWSCURRENT",
                                             "MoveToVersionId": v1, "RemoveFromVersionId": v2},
                caller)
    step(at(3, 20), "rolled back")
    clock.now = at(3, 30)
    v3 = ledger.call("PutSecretValue", {"SecretId": "prod/db", "SecretString": "Pit-value-3"},
                     caller)["VersionId"]
    step(at(3, 30), "v3")
    return {"v1": v1, "v2": v2, "v3": v3, "key": key.arn, "observed": observed}


def test_awscurrent_of_prod_db_at_0312_its_key_and_who_moved_it(ledger, prod_db):
    state = secret_as_of(ledger, "prod/db", Bound(at=at(3, 12)))
    assert state["labels"]["AWSCURRENT"] == prod_db["v2"]
    current = next(v for v in state["versions"] if v["versionId"] == prod_db["v2"])
    assert current["keyArn"] == prod_db["key"] and state["kmsKeyId"] == prod_db["key"]
    last_move = [m for m in state["labelHistory"] if m["label"] == "AWSCURRENT"][-1]
    assert last_move == {"label": "AWSCURRENT", "at": "2026-03-17T03:05:00Z",
                         "fromVersion": prod_db["v1"], "toVersion": prod_db["v2"],
                         "by": BOB.arn, "requestId": last_move["requestId"],
                         "operation": "PutSecretValue"}
    assert prod_db["v3"] not in {v["versionId"] for v in state["versions"]}


def test_as_of_answers_match_what_was_observed_at_each_moment(ledger, prod_db):
    for label, (when, position, described) in prod_db["observed"].items():
        for bound in (Bound(at=when), Bound(position=position)):
            state = secret_as_of(ledger, "prod/db", bound)
            stages: dict[str, list[str]] = {}
            for name, version_id in state["labels"].items():
                stages.setdefault(version_id, []).append(name)
            assert stages == described["VersionIdsToStages"], (label, bound)
            assert state["kmsKeyId"] == described.get("KmsKeyId"), (label, bound)
            assert state["arn"] == described["ARN"]


def test_label_history_answers_who_moved_a_label_when_without_replay(ledger, prod_db):
    moves = label_history(ledger, "prod/db", "AWSCURRENT")
    assert [(m["at"], m["by"], m["toVersion"]) for m in moves] == [
        ("2026-03-17T02:00:00Z", "arn:aws:iam::123456789012:user/alice", prod_db["v1"]),
        ("2026-03-17T03:05:00Z", BOB.arn, prod_db["v2"]),
        ("2026-03-17T03:20:00Z", "arn:aws:iam::123456789012:user/alice", prod_db["v1"]),
        ("2026-03-17T03:30:00Z", "arn:aws:iam::123456789012:user/alice", prod_db["v3"])]
    until = label_history(ledger, "prod/db", "AWSCURRENT", Bound(at=at(3, 12)))
    assert until == moves[:2]


def test_the_value_as_of_then_is_an_audited_read(ledger, prod_db, caller):
    state = secret_as_of(ledger, "prod/db", Bound(at=at(3, 12)))
    before = ledger.recorder.max_notification_id()
    answer = value_as_of(ledger, state, caller)
    assert answer == {"label": "AWSCURRENT", "versionId": prod_db["v2"],
                      "SecretString": "Pit-value-two"}
    records = ledger.read_models.read_audit(lambda c: list(export.records(c, after=before)))
    [record] = [json.loads(text) for text in records]
    assert record["eventName"] == "GetSecretValue"
    assert record["requestParameters"] == {"secretId": state["arn"], "versionId": prod_db["v2"]}
    assert record["userIdentity"]["arn"] == caller.arn
    assert "Pit-value-two" not in json.dumps(state)  # the state itself never holds it


def test_shredded_versions_say_so_and_their_value_is_not_read(ledger, clock, caller):
    clock.now = at(1, 0)
    ledger.call("CreateSecret", {"Name": "tmp/x", "SecretString": "Pit-shred-me"}, caller)
    clock.now = at(1, 30)
    ledger.call("DeleteSecret", {"SecretId": "tmp/x", "ForceDeleteWithoutRecovery": True},
                caller)
    state = secret_as_of(ledger, "tmp/x", Bound(at=at(1, 10)))
    assert state["deleted"] is False and [v["shredded"] for v in state["versions"]] == [True]
    before = ledger.recorder.max_notification_id()
    answer = value_as_of(ledger, state, caller)
    assert answer["shredded"] is True and "SecretString" not in answer
    assert ledger.recorder.max_notification_id() == before  # nothing to read, nothing read
    after = secret_as_of(ledger, "tmp/x", Bound(at=at(1, 40)))
    assert after["deleted"] is True and after["deletion"]["forced"] is True


def test_a_reused_name_means_the_secret_that_held_it_then(ledger, clock, caller):
    clock.now = at(1, 0)
    first = ledger.call("CreateSecret", {"Name": "reuse", "SecretString": "Pit-first"},
                        caller)["ARN"]
    clock.now = at(1, 10)
    ledger.call("DeleteSecret", {"SecretId": "reuse", "ForceDeleteWithoutRecovery": True},
                caller)
    clock.now = at(1, 20)
    second = ledger.call("CreateSecret", {"Name": "reuse", "SecretString": "Pit-second"},
                         caller)["ARN"]
    assert secret_as_of(ledger, "reuse", Bound(at=at(1, 5)))["arn"] == first
    assert secret_as_of(ledger, "reuse", Bound(at=at(1, 25)))["arn"] == second
    assert secret_as_of(ledger, first, Bound(at=at(1, 25)))["deleted"] is True


def test_a_secret_that_did_not_exist_yet_is_not_found(ledger, prod_db):
    with pytest.raises(LedgerError) as caught:
        secret_as_of(ledger, "prod/db", Bound(at=at(1, 0)))
    assert caught.value.code == "ResourceNotFoundException"


def test_whole_ledger_as_of_a_time_and_a_position(ledger, prod_db, clock, caller):
    clock.now = at(4, 0)
    ledger.call("CreateSecret", {"Name": "later", "SecretString": "Pit-later"}, caller)
    then = ledger_as_of(ledger, Bound(at=at(3, 12)))
    assert [s["name"] for s in then["secrets"]] == ["prod/db"]
    [secret] = then["secrets"]
    assert secret["labels"]["AWSCURRENT"] == prod_db["v2"] and secret["kmsKeyId"] == prod_db["key"]
    assert prod_db["key"] in {k["arn"] for k in then["kmsKeys"]}
    _, position, _ = prod_db["observed"]["created"]
    early = ledger_as_of(ledger, Bound(position=position))
    assert [s["labels"] for s in early["secrets"]] == [{"AWSCURRENT": prod_db["v1"]}]
    now = ledger_as_of(ledger, Bound(position=ledger.recorder.max_notification_id()))
    assert [s["name"] for s in now["secrets"]] == ["prod/db", "later"]


def test_a_bound_needs_exactly_one_of_time_and_position():
    with pytest.raises(ValueError):
        Bound()
    with pytest.raises(ValueError):
        Bound(at=at(1, 0), position=3)
