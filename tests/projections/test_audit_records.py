"""One CloudTrail record per API call, with every field right for each kind of call."""
from __future__ import annotations

import json

import pytest

from ledger.calls import ApiCallRecorded
from ledger.events import VersionCreated, VersionRemoved
from projections import export
from tests.projections.cloudtrail_schema import check_record
from tests.projections.conftest import ACCOUNT, BOB, CAROL

ARN_PREFIX = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"


def records(ledger) -> list[dict]:
    texts = ledger.read_models.read_audit(lambda c: list(export.records(c)))
    return [json.loads(text) for text in texts]


def named(ledger, name: str) -> list[dict]:
    return [r for r in records(ledger) if r["eventName"] == name]


def log_events(ledger, cls) -> list:
    notes = ledger.recorder.select_notifications(0, 10**6, inclusive_of_start=False)
    return [e for e in map(ledger.mapper.to_domain_event, notes) if isinstance(e, cls)]


def test_every_record_follows_the_cloudtrail_structure(shared_history):
    ledger, _ = shared_history
    trail = records(ledger)
    assert len(trail) == len(log_events(ledger, ApiCallRecorded))
    for record in trail:
        check_record(record)
    assert len({r["eventID"] for r in trail}) == len(trail)


def test_one_record_per_call_including_failures(shared_history):
    ledger, history = shared_history
    api_calls = [r for r in records(ledger) if r["eventType"] == "AwsApiCall"]
    batch_reads = 2  # BatchGetSecretValue adds a GetSecretValue record per secret it read
    assert len(api_calls) == history.calls + batch_reads
    assert len([r for r in api_calls if "errorCode" in r]) == history.failures


def test_create_secret_record(shared_history, caller):
    ledger, _ = shared_history
    record = named(ledger, "CreateSecret")[0]
    arn = record["responseElements"]["arn"]
    assert arn.startswith(ARN_PREFIX + "prod/db-")
    assert record["userIdentity"] == {
        "type": "IAMUser", "principalId": "AIDAALICE", "arn": caller.arn, "accountId": ACCOUNT,
        "accessKeyId": caller.access_key_id, "userName": "alice"}
    assert record["eventTime"] == "2026-03-17T03:12:00Z"
    assert record["awsRegion"] == "us-east-1"
    assert record["sourceIPAddress"] == "10.0.0.7" and record["userAgent"] == "aws-cli/2.15 test"
    assert record["requestParameters"] == {
        "name": "prod/db", "description": "primary database",
        "tags": [{"key": "team", "value": "core"}, {"key": "env", "value": "prod"}]}
    assert record["readOnly"] is False and record["eventType"] == "AwsApiCall"
    assert record["resources"] == [{"ARN": arn, "accountId": ACCOUNT,
                                    "type": "AWS::SecretsManager::Secret"}]
    assert record["recipientAccountId"] == ACCOUNT
    assert "errorCode" not in record and "errorMessage" not in record


def test_value_carrying_writes_carry_the_version_fingerprint_and_nothing_else_does(
        shared_history):
    ledger, _ = shared_history
    fingerprints = {e.context["request_id"]: e.fingerprint
                    for e in log_events(ledger, VersionCreated)}
    for record in records(ledger):
        value_hash = (record.get("additionalEventData") or {}).get("secretValueHash")
        if record["eventName"] in ("CreateSecret", "PutSecretValue") and "errorCode" not in record:
            assert value_hash == fingerprints[record["requestID"]]
            assert value_hash.startswith("hmac-sha256-secret:") and len(value_hash) == 19 + 64
        else:
            assert value_hash is None, record["eventName"]


def test_update_secret_record_of_an_assumed_role(shared_history):
    ledger, _ = shared_history
    record = named(ledger, "UpdateSecret")[0]
    assert record["userIdentity"]["type"] == "AssumedRole"
    assert "userName" not in record["userIdentity"]
    assert record["userIdentity"]["arn"] == CAROL.arn
    assert set(record["requestParameters"]) == {"secretId", "kmsKeyId", "description"}
    assert record["responseElements"] == {"arn": record["resources"][0]["ARN"]}


def test_put_secret_value_record_names_stages_but_never_the_value(shared_history):
    ledger, history = shared_history
    staged = [r for r in named(ledger, "PutSecretValue")
              if (r["requestParameters"] or {}).get("versionStages")]
    assert staged[0]["requestParameters"] == {"secretId": "prod/db", "versionStages": ["STAGED"]}
    assert history.values[2] not in json.dumps(staged[0])


@pytest.mark.parametrize("operation", ["GetSecretValue", "DescribeSecret", "ListSecrets",
                                       "ListSecretVersionIds", "GetRandomPassword",
                                       "BatchGetSecretValue"])
def test_reads_are_read_only_with_null_response_elements(shared_history, operation):
    ledger, _ = shared_history
    found = named(ledger, operation)
    assert found
    for record in found:
        assert record["readOnly"] is True and record["responseElements"] is None


def test_batch_get_adds_one_get_secret_value_record_per_secret_read(shared_history):
    ledger, _ = shared_history
    batch = named(ledger, "BatchGetSecretValue")[0]
    assert batch["requestParameters"] == {"secretIdList": ["prod/db", "svc/api", "nope"]}
    assert batch["userIdentity"]["arn"] == CAROL.arn
    per_secret = [r for r in named(ledger, "GetSecretValue")
                  if r["requestID"] == batch["requestID"]]
    arns = [r["resources"][0]["ARN"] for r in per_secret]
    assert [a.split(":secret:")[1][:-7] for a in arns] == ["prod/db", "svc/api"]
    assert [r["requestParameters"] for r in per_secret] == [{"secretId": a} for a in arns]


def test_failed_call_record_has_error_fields_and_no_response(shared_history, caller):
    ledger, _ = shared_history
    record = [r for r in named(ledger, "DescribeSecret") if "errorCode" in r][0]
    assert record["errorCode"] == "ResourceNotFoundException"
    assert record["errorMessage"] == "Secrets Manager can't find the specified secret."
    assert record["requestParameters"] == {"secretId": "does/not/exist"}
    assert record["responseElements"] is None and record["resources"] == []
    refused = [r for r in named(ledger, "PutSecretValue") if "errorCode" in r][0]
    assert refused["errorCode"] == "InvalidRequestException"
    assert refused["userIdentity"]["arn"] == BOB.arn
    assert refused["responseElements"] is None and "additionalEventData" not in refused
    denied_key = [r for r in named(ledger, "GetSecretValue") if "errorCode" in r][0]
    assert denied_key["errorCode"] == "DecryptionFailure"


def test_delete_and_restore_records(shared_history):
    ledger, _ = shared_history
    forced, scheduled, old = named(ledger, "DeleteSecret")
    assert forced["requestParameters"] == {"secretId": "tmp/gone",
                                           "forceDeleteWithoutRecovery": True}
    assert set(forced["responseElements"]) == {"arn", "name", "deletionDate"}
    assert scheduled["requestParameters"] == {"secretId": "svc/blob", "recoveryWindowInDays": 7}
    restore = named(ledger, "RestoreSecret")[0]
    assert restore["responseElements"] == {"arn": scheduled["responseElements"]["arn"]}


def test_tag_and_untag_records(shared_history):
    ledger, _ = shared_history
    tag = named(ledger, "TagResource")[0]
    assert tag["requestParameters"] == {"secretId": "svc/api",
                                        "tags": [{"key": "team", "value": "x"}]}
    untag = named(ledger, "UntagResource")[0]
    assert untag["requestParameters"] == {"secretId": "prod/db", "tagKeys": ["team"]}


def test_service_events_for_version_cleanup_and_end_of_recovery_window(shared_history):
    ledger, _ = shared_history
    ends = named(ledger, "EndSecretVersionDelete")
    assert len(ends) == 5
    cleanup, window = ends[:4], ends[4]
    for record in ends:
        assert record["eventType"] == "AwsServiceEvent"
        assert record["userIdentity"] == {"accountId": ACCOUNT,
                                          "invokedBy": "secretsmanager.amazonaws.com"}
        assert record["requestParameters"] is None and record["responseElements"] is None
    assert all(r["additionalEventData"]["SecretId"].startswith(ARN_PREFIX + "svc/api-")
               for r in cleanup)
    removed = [e.version_id for e in log_events(ledger, VersionRemoved)]
    assert [r["additionalEventData"]["VersionId"] for r in cleanup] == removed
    puts = {r["requestID"] for r in named(ledger, "PutSecretValue")}
    assert {r["requestID"] for r in cleanup} <= puts  # the write whose cleanup they were
    assert window["additionalEventData"] == {"SecretId": window["resources"][0]["ARN"]}
    assert window["resources"][0]["ARN"].startswith(ARN_PREFIX + "old/app-")


def test_event_ids_are_stable_across_a_rebuild(history_ledger):
    ledger, _ = history_ledger
    before = [(r["eventID"], r["eventTime"]) for r in records(ledger)]
    ledger.read_models.rebuild()
    assert [(r["eventID"], r["eventTime"]) for r in records(ledger)] == before


def test_user_agent_is_cut_at_one_kilobyte(ledger, caller):
    ledger.call("ListSecrets", {}, caller, user_agent="x" * 5000)
    record = named(ledger, "ListSecrets")[-1]
    assert record["userAgent"] == "x" * 1024
