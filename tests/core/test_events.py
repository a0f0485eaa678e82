"""What each operation appends to the log, and what every event carries."""
from __future__ import annotations

import base64
import dataclasses
import random
from typing import Any

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller, RequestContext
from ledger.errors import LedgerError
from ledger.secret import Limits
from tests.core.support import create_key, events, secret_of, token

NAME = "audit/db"
SOURCE_IP = "198.51.100.7"
USER_AGENT = "aws-cli/2.15.0 Python/3.11 test"
VALUES = ["Zq8-first-plaintext-value", "Zq8-second-plaintext-value", "Zq8-third-plaintext"]
BINARY = b"\x00Zq8-binary-plaintext\xff"


class Session:
    """Calls with known request ids, so each call's events can be picked out of the log."""

    def __init__(self, ledger: SecretsLedger, caller) -> None:
        self.ledger, self.caller, self.count = ledger, caller, 0
        self.requests: dict[str, tuple[str, dict[str, Any]]] = {}

    def __call__(self, operation: str, **request: Any) -> tuple[str, dict[str, Any]]:
        self.count += 1
        request_id = f"req-{self.count:04d}-{token()}"
        self.requests[request_id] = (operation, request)
        response = self.ledger.call(operation, request, self.caller, source_ip=SOURCE_IP,
                                    user_agent=USER_AGENT, request_id=request_id)
        return request_id, response

    def events_of(self, request_id: str) -> list[Any]:
        return [e for e in events(self.ledger) if e.context["request_id"] == request_id]

    def names_of(self, request_id: str) -> list[str]:
        return [type(e).__name__ for e in self.events_of(request_id)]


@pytest.fixture
def session(ledger, caller) -> Session:
    return Session(ledger, caller)


def moves(evts: list[Any]) -> list[tuple[str, str | None, str | None]]:
    return [(e.label, e.from_version, e.to_version) for e in evts
            if type(e).__name__ == "LabelMoved"]


# ---- the events of each operation ------------------------------------------------------

def test_create_secret_events(session):
    rid, response = session("CreateSecret", Name=NAME, SecretString=VALUES[0],
                            ClientRequestToken=(v0 := token()))
    names = session.names_of(rid)
    # the default key is created on first use, inside the request that needed it
    assert names == ["KeyCreated", "AliasAssigned", "SecretCreated", "VersionCreated",
                     "LabelMoved", "NameRegistered", "NameClaimed", "ApiCallRecorded"]
    evts = session.events_of(rid)
    assert moves(evts) == [("AWSCURRENT", None, v0)]
    created = evts[3]
    assert (created.version_id, created.value_type) == (v0, "SecretString")
    assert created.fingerprint.startswith("hmac-sha256-secret:")
    assert created.key_arn == evts[0].arn
    record = evts[-1]
    assert record.resources == [response["ARN"]] and record.response == {"arn": response["ARN"]}
    assert (record.event_type, record.read_only, record.error_code) == ("AwsApiCall", False, None)


def test_update_secret_value_events(session):
    _, created = session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    v0 = created["VersionId"]
    rid, response = session("UpdateSecret", SecretId=NAME, SecretString=VALUES[1])
    v1 = response["VersionId"]
    assert session.names_of(rid) == ["VersionCreated", "LabelMoved", "LabelMoved",
                                     "ApiCallRecorded"]
    assert moves(session.events_of(rid)) == [("AWSCURRENT", v0, v1), ("AWSPREVIOUS", None, v0)]
    rid, response = session("UpdateSecret", SecretId=NAME, SecretString=VALUES[2])
    assert moves(session.events_of(rid)) == [("AWSCURRENT", v1, response["VersionId"]),
                                             ("AWSPREVIOUS", v0, v1)]


def test_update_secret_metadata_events(session, ledger, caller):
    _, created = session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    key = create_key(ledger, caller)
    rid, _ = session("UpdateSecret", SecretId=NAME, Description="d", KmsKeyId=key.key_id)
    evts = session.events_of(rid)
    assert [type(e).__name__ for e in evts] == ["DescriptionChanged", "KeyChanged",
                                                "VersionReEncrypted", "ApiCallRecorded"]
    assert evts[0].description == "d"
    assert (evts[1].from_key, evts[1].to_key) == (None, key.key_id)
    assert (evts[2].version_id, evts[2].to_key_arn) == (created["VersionId"], key.arn)


def test_put_and_stage_events(session):
    _, created = session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    v0 = created["VersionId"]
    rid, put = session("PutSecretValue", SecretId=NAME, SecretBinary=BINARY,
                       VersionStages=["blue", "AWSPENDING"])
    v1 = put["VersionId"]
    assert session.names_of(rid) == ["VersionCreated", "LabelMoved", "LabelMoved",
                                     "ApiCallRecorded"]
    assert session.events_of(rid)[0].value_type == "SecretBinary"
    assert moves(session.events_of(rid)) == [("blue", None, v1), ("AWSPENDING", None, v1)]
    rid, _ = session("UpdateSecretVersionStage", SecretId=NAME, VersionStage="AWSCURRENT",
                     RemoveFromVersionId=v0, MoveToVersionId=v1)
    assert moves(session.events_of(rid)) == [("AWSCURRENT", v0, v1), ("AWSPREVIOUS", None, v0)]
    rid, _ = session("UpdateSecretVersionStage", SecretId=NAME, VersionStage="blue",
                     RemoveFromVersionId=v1)
    assert moves(session.events_of(rid)) == [("blue", v1, None)]


def test_tag_delete_restore_and_read_events(session, clock):
    _, created = session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    rid, _ = session("TagResource", SecretId=NAME, Tags=[{"Key": "env", "Value": "prod"}])
    evts = session.events_of(rid)
    assert [type(e).__name__ for e in evts] == ["TagsChanged", "ApiCallRecorded"]
    assert (evts[0].added, evts[0].removed) == ([["env", "prod"]], [])
    rid, _ = session("UntagResource", SecretId=NAME, TagKeys=["env"])
    assert (session.events_of(rid)[0].added, session.events_of(rid)[0].removed) == ([], ["env"])
    rid, _ = session("GetSecretValue", SecretId=NAME)
    evts = session.events_of(rid)
    assert [type(e).__name__ for e in evts] == ["SecretAccessed", "ApiCallRecorded"]
    assert evts[0].version_id == created["VersionId"] and evts[-1].read_only is True
    assert evts[-1].response is None
    rid, _ = session("DeleteSecret", SecretId=NAME, RecoveryWindowInDays=7)
    scheduled = session.events_of(rid)[0]
    assert type(scheduled).__name__ == "DeletionScheduled"
    assert (scheduled.requested_at, scheduled.forced) == (clock.now, False)
    assert (scheduled.delete_after - scheduled.requested_at).days == 7
    rid, _ = session("RestoreSecret", SecretId=NAME)
    assert session.names_of(rid) == ["DeletionCancelled", "ApiCallRecorded"]
    rid, _ = session("DeleteSecret", SecretId=NAME, ForceDeleteWithoutRecovery=True)
    assert session.names_of(rid) == ["DeletionScheduled", "SecretDeleted", "NameReleased",
                                     "ApiCallRecorded"]
    assert session.events_of(rid)[0].forced is True


def test_reads_that_change_nothing_append_only_their_record(session):
    session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    for operation, request in [("DescribeSecret", {"SecretId": NAME}),
                               ("ListSecrets", {}),
                               ("ListSecretVersionIds", {"SecretId": NAME}),
                               ("GetRandomPassword", {})]:
        rid, _ = session(operation, **request)
        evts = session.events_of(rid)
        assert [type(e).__name__ for e in evts] == ["ApiCallRecorded"]
        assert evts[0].read_only is True


def test_each_event_names_the_caller_of_its_own_request(ledger, caller, other_caller):
    ledger.call("CreateSecret", {"Name": NAME, "SecretString": VALUES[0]}, caller)
    version = ledger.call("UpdateSecret", {"SecretId": NAME, "SecretString": VALUES[1]},
                          other_caller)["VersionId"]
    created = [e for e in events(ledger) if type(e).__name__ == "VersionCreated"]
    assert [e.context["caller"]["arn"] for e in created] == [caller.arn, other_caller.arn]
    assert created[1].version_id == version
    assert created[1].context["caller"]["principal_type"] == "AssumedRole"
    assert created[1].context["caller"]["access_key_id"] == other_caller.access_key_id


def test_failed_call_appends_only_its_record(session, ledger, caller):
    session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    request_id = "req-failing-" + token()
    with pytest.raises(LedgerError):
        ledger.call("UpdateSecret", {"SecretId": NAME, "SecretString": VALUES[1],
                                     "SecretBinary": BINARY}, caller, source_ip=SOURCE_IP,
                    user_agent=USER_AGENT, request_id=request_id)
    evts = session.events_of(request_id)
    assert [type(e).__name__ for e in evts] == ["ApiCallRecorded"]
    record = evts[0]
    assert record.error_code == "InvalidParameterException"
    assert record.context["parameters"] == {"SecretId": NAME}
    assert record.context["source_ip"] == SOURCE_IP


def test_version_cleanup_is_recorded_as_version_removed(ledger, caller, clock, session):
    _, created = session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    for i in range(9):
        session("UpdateSecret", SecretId=NAME, SecretString=f"v{i}")
    clock.advance(hours=25)
    rid, _ = session("UpdateSecret", SecretId=NAME, SecretString="last")
    removed = [e for e in session.events_of(rid) if type(e).__name__ == "VersionRemoved"]
    assert [(e.version_id, e.reason) for e in removed] == [(created["VersionId"], "cleanup")]
    # The cleanup is the service's act: its event and its audit record say so.
    assert removed[0].context["caller"]["principal_type"] == "AWSService"
    records = [e for e in session.events_of(rid) if type(e).__name__ == "ApiCallRecorded"]
    assert sorted(r.event_type for r in records) == ["AwsApiCall", "AwsServiceEvent"]
    service_record = next(r for r in records if r.event_type == "AwsServiceEvent")
    assert service_record.context["operation"] == "EndSecretVersionDelete"


def test_purge_is_a_service_event(ledger, caller, clock, session):
    _, created = session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    session("DeleteSecret", SecretId=NAME, RecoveryWindowInDays=7)
    clock.advance(days=8)
    before = len(events(ledger))
    ledger.purge_expired()
    purge = events(ledger)[before:]
    assert [type(e).__name__ for e in purge] == ["SecretDeleted", "NameReleased",
                                                 "ApiCallRecorded"]
    for event in purge:
        assert event.context["caller"]["arn"] == "secretsmanager.amazonaws.com"
        assert event.context["operation"] == "EndSecretVersionDelete"
    assert purge[-1].event_type == "AwsServiceEvent"
    assert purge[-1].resources == [created["ARN"]]


# ---- the request context on every event --------------------------------------------------

def _busy_scenario(session: Session, ledger, caller, clock) -> None:
    session("CreateSecret", Name=NAME, SecretString=VALUES[0], Description="first",
            Tags=[{"Key": "team", "Value": "core"}])
    session("CreateSecret", Name="audit/blob", SecretBinary=BINARY)
    session("UpdateSecret", SecretId=NAME, SecretString=VALUES[1], ClientRequestToken=token())
    session("UpdateSecret", SecretId=NAME, Description="second")
    session("PutSecretValue", SecretId=NAME, SecretString=VALUES[2],
            VersionStages=["AWSPENDING"])
    session("GetSecretValue", SecretId=NAME)
    session("BatchGetSecretValue", SecretIdList=[NAME, "audit/blob"])
    session("TagResource", SecretId=NAME, Tags=[{"Key": "env", "Value": "prod"}])
    session("UntagResource", SecretId=NAME, TagKeys=["team"])
    session("DeleteSecret", SecretId="audit/blob")
    session("RestoreSecret", SecretId="audit/blob")
    session("DeleteSecret", SecretId="audit/blob", ForceDeleteWithoutRecovery=True)


def test_every_event_carries_the_full_request_context(session, ledger, caller, clock):
    _busy_scenario(session, ledger, caller, clock)
    seen = set()
    for event in events(ledger):
        context = event.context
        if context["operation"] in ("CreateKey", "CreateAlias") or \
                context["user_agent"] == "tests":
            continue  # key administration and the test callers' grants, outside the API
        operation, request = session.requests[context["request_id"]]
        assert context["operation"] in (operation, "GetSecretValue")
        assert context["caller"]["arn"] == caller.arn
        assert context["caller"]["access_key_id"] == caller.access_key_id
        assert context["source_ip"] == SOURCE_IP
        assert context["user_agent"] == USER_AGENT
        assert context["region"] == ledger.config.region
        expected = {k: v for k, v in request.items()
                    if k not in ("SecretString", "SecretBinary")}
        assert context["parameters"] == expected
        seen.add(context["request_id"])
    assert seen == set(session.requests)  # every call left at least its record


def test_no_event_or_context_holds_a_value(session, ledger, caller, clock):
    _busy_scenario(session, ledger, caller, clock)
    secrets = [v.encode() for v in VALUES] + [BINARY]
    forms = secrets + [base64.b64encode(s) for s in secrets] + \
        [base64.urlsafe_b64encode(s) for s in secrets]
    for note in ledger.recorder.select_notifications(start=1, limit=10_000):
        for form in forms:
            assert form not in note.state
    for event in events(ledger):
        text = repr(vars(event)).encode()
        for form in forms:
            assert form not in text


def test_batch_read_is_recorded_per_secret_with_the_batch_context(session, ledger):
    session("CreateSecret", Name=NAME, SecretString=VALUES[0])
    rid, _ = session("BatchGetSecretValue", SecretIdList=[NAME])
    records = [e for e in session.events_of(rid) if type(e).__name__ == "ApiCallRecorded"]
    assert sorted(r.context["operation"] for r in records) == ["BatchGetSecretValue",
                                                               "GetSecretValue"]
    assert all(r.context["parameters"] == {"SecretIdList": [NAME]} for r in records)


# ---- the aggregate from the log ----------------------------------------------------------

def _state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def test_secret_rebuilt_from_the_log_equals_the_live_one(session, ledger, caller, clock):
    live: dict[Any, Any] = {}
    store = ledger._store  # every call's save passes through here

    def keep_live(aggregates, key_changes):
        result = store(aggregates, key_changes)
        for aggregate in aggregates:
            live[aggregate.id] = aggregate
        return result

    ledger._store = keep_live
    key = create_key(ledger, caller)
    _busy_scenario(session, ledger, caller, clock)
    clock.advance(days=1)
    session("UpdateSecret", SecretId=NAME, KmsKeyId=key.arn, SecretString="after-key")
    session("GetSecretValue", SecretId=NAME, VersionStage="AWSPREVIOUS")
    secret = live[secret_of(ledger, NAME).id]
    rebuilt = None
    for note in ledger.recorder.select_notifications(start=1, limit=10_000):
        if note.originator_id == secret.id:
            rebuilt = ledger.mapper.to_domain_event(note).mutate(rebuilt)
    assert _state(rebuilt) == _state(secret)
    assert _state(ledger.repository.get(secret.id)) == _state(secret)


def test_reopened_ledger_rebuilds_the_same_secret(sqlite_ledger, caller, clock, tmp_path):
    session = Session(sqlite_ledger, caller)
    _busy_scenario(session, sqlite_ledger, caller, clock)
    before = sqlite_ledger.call("DescribeSecret", {"SecretId": NAME}, caller)
    secret = secret_of(sqlite_ledger, NAME)
    config = LedgerConfig(data_dir=tmp_path / "data", limits=Limits(max_versions=10))
    reopened = SecretsLedger(config, clock=clock, rng=random.Random(1))
    assert _state(reopened.repository.get(secret.id)) == _state(secret)
    assert reopened.call("DescribeSecret", {"SecretId": NAME}, caller) == before
    value = reopened.call("GetSecretValue", {"SecretId": NAME}, caller)
    assert value["SecretString"] == VALUES[1]


def test_the_event_context_is_every_field_of_the_request_context_as_plain_data():
    caller = Caller(arn="arn:aws:iam::123456789012:user/alice", access_key_id="AKIAALICE",
                    principal_id="AIDAALICE")
    context = RequestContext("r-1", "UpdateSecret", caller, "eu-west-1", SOURCE_IP, USER_AGENT,
                             parameters={"secretId": NAME, "tags": [{"key": "k"}],
                                         "pair": ("a", {"b": 1})})
    field = context.as_event_field()
    assert field == dataclasses.asdict(context)
    field["parameters"]["tags"][0]["key"] = "changed"  # a copy: the context is unaffected
    assert context.parameters["tags"][0]["key"] == "k"
