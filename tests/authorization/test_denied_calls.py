"""A refused call writes its audit record and nothing else, and says who, what and which."""
from __future__ import annotations

import uuid

import botocore.exceptions
import pytest

from ledger.calls import ApiCallRecorded
from ledger.errors import LedgerError
from tests.authorization.conftest import World, allow
from tests.core.support import events, secret_of
from tests.server.conftest import make_client

SM = "secretsmanager"
TOKEN = str(uuid.uuid4())
REQUESTS = [
    ("CreateSecret", {"Name": "team/new", "SecretString": "never-stored-1",
                      "ClientRequestToken": TOKEN}),
    ("PutSecretValue", {"SecretId": "team/db", "SecretString": "never-stored-2",
                        "ClientRequestToken": TOKEN}),
    ("UpdateSecret", {"SecretId": "team/db", "SecretString": "never-stored-3",
                      "Description": "nope", "ClientRequestToken": TOKEN}),
    ("UpdateSecretVersionStage", {"SecretId": "team/db", "VersionStage": "X",
                                  "MoveToVersionId": "v" * 32}),
    ("TagResource", {"SecretId": "team/db", "Tags": [{"Key": "k", "Value": "v"}]}),
    ("UntagResource", {"SecretId": "team/db", "TagKeys": ["env"]}),
    ("DeleteSecret", {"SecretId": "team/db", "ForceDeleteWithoutRecovery": True}),
    ("RestoreSecret", {"SecretId": "team/db"}),
    ("PutResourcePolicy", {"SecretId": "team/db", "ResourcePolicy": "{}"}),
    ("DeleteResourcePolicy", {"SecretId": "team/db"}),
    ("GetSecretValue", {"SecretId": "team/db"}),
    ("DescribeSecret", {"SecretId": "team/db"}),
    ("ListSecretVersionIds", {"SecretId": "team/db"}),
    ("GetResourcePolicy", {"SecretId": "team/db"}),
    ("ListSecrets", {}),
    ("BatchGetSecretValue", {"SecretIdList": ["team/db"]}),
    ("GetRandomPassword", {}),
    ("ValidateResourcePolicy", {"ResourcePolicy": "{}"}),
]


@pytest.fixture
def guarded(world: World) -> World:
    world.as_system("CreateSecret", Name="team/db", SecretString="v1",
                    Tags=[{"Key": "env", "Value": "prod"}])
    world.grant("alice", allow(f"{SM}:*", "arn:aws:secretsmanager:*:*:secret:other/*"))
    return world


@pytest.mark.parametrize("operation,request_", REQUESTS, ids=[r[0] for r in REQUESTS])
def test_a_refused_call_appends_exactly_its_audit_record(guarded, operation, request_):
    secret = secret_of(guarded.ledger, "team/db")
    before = events(guarded.ledger)
    with pytest.raises(LedgerError) as refused:
        guarded.ledger.call(operation, dict(request_), guarded.caller("alice"),
                            request_id="req-refused")
    assert refused.value.code == "AccessDeniedException"
    (record,) = events(guarded.ledger)[len(before):]
    assert isinstance(record, ApiCallRecorded)
    assert (record.error_code, record.error_message) == ("AccessDeniedException",
                                                         refused.value.message)
    assert record.context["request_id"] == "req-refused"
    assert record.context["operation"] == operation
    assert record.context["caller"]["arn"] == "arn:aws:iam::123456789012:user/alice"
    assert record.response is None and record.resources == []
    assert "never-stored" not in repr(record.context) + record.error_message
    assert guarded.ledger.key_store.data_key(secret.id.hex, TOKEN) is None


def test_the_message_says_who_what_and_which(guarded):
    with pytest.raises(LedgerError) as refused:
        guarded.call("alice", "PutSecretValue", SecretId="team/db", SecretString="x")
    assert refused.value.message == (
        "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "
        "secretsmanager:PutSecretValue on resource: team/db because no identity-based policy "
        "allows the secretsmanager:PutSecretValue action")
    guarded.grant("alice", allow(f"{SM}:*"), {"Effect": "Deny", "Action": f"{SM}:Get*",
                                              "Resource": "*"})
    with pytest.raises(LedgerError) as refused:
        guarded.call("alice", "GetSecretValue", SecretId="team/db")
    assert refused.value.message.endswith(
        "on resource: team/db with an explicit deny in an identity-based policy")


def test_a_refusal_over_http_is_a_400_with_the_same_record(server, audit):
    from ledger.principals import Principals
    admin = Principals(audit.ledger, user_agent="secrets-ledger-cli")
    admin.create("refused")
    issued = admin.issue_key(admin.find("refused"))
    client = make_client(server.url, key_id=issued.access_key_id,
                         secret=issued.secret_access_key)
    position = audit.position()
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.create_secret(Name="http/denied", SecretString="never-stored-http")
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "AccessDeniedException"
    (record,) = audit.events_after(position)
    assert record.context["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert record.error_message == response["Error"]["Message"]
    assert record.context["caller"]["access_key_id"] == issued.access_key_id


def test_a_batch_audits_each_secret_it_was_refused(guarded):
    guarded.grant("alice", allow(f"{SM}:BatchGetSecretValue"), policy_name="batch")
    before = len(events(guarded.ledger))
    response = guarded.call("alice", "BatchGetSecretValue", SecretIdList=["team/db", "gone"])
    records = events(guarded.ledger)[before:]
    assert [(r.context["operation"], r.error_code) for r in records] == [
        ("BatchGetSecretValue", None),
        ("GetSecretValue", "AccessDeniedException"), ("GetSecretValue", "AccessDeniedException")]
    assert [r.context["parameters"] for r in records[1:]] == [{"SecretId": "team/db"},
                                                              {"SecretId": "gone"}]
    assert [r.error_message for r in records[1:]] == [e["Message"] for e in response["Errors"]]
