"""A caller without access learns nothing of a secret: not that it exists, not its metadata.

Alice may do anything to `dev/*` secrets and may call the account-wide list and batch
operations; the `prod/*` secrets are hidden from her. For every operation that names a secret,
her answer for a hidden secret is the answer for one that does not exist; listings and batches
leave hidden secrets out; messages never carry the resolved ARN, tags or description.
"""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from ledger.application import HANDLERS
from ledger.errors import LedgerError
from ledger.servicemodel import input_shape
from tests.authorization.conftest import World, allow
from tests.server.conftest import make_client

SM = "secretsmanager"
HIDDEN, MISSING, VISIBLE = "prod/db", "prod/nothing-here", "dev/app"


def _extra(operation: str) -> dict[str, Any]:
    """The other members a request needs to be valid, so only authorization can refuse it."""
    policy = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
              '{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"secretsmanager:*",'
              '"Resource":"*"}]}')
    return {
        "PutSecretValue": {"SecretString": "new", "ClientRequestToken": str(uuid.uuid4())},
        "UpdateSecret": {"Description": "changed"},
        "UpdateSecretVersionStage": {"VersionStage": "AWSCURRENT", "MoveToVersionId": "x" * 32},
        "DeleteSecret": {"RecoveryWindowInDays": 7},
        "TagResource": {"Tags": [{"Key": "k", "Value": "v"}]},
        "UntagResource": {"TagKeys": ["env"]},
        "PutResourcePolicy": {"ResourcePolicy": policy},
        "ValidateResourcePolicy": {"ResourcePolicy": policy},
    }.get(operation, {})


def _names_a_secret(operation: str) -> bool:
    shape = input_shape(operation)
    return shape is not None and "SecretId" in shape.members


SECRET_OPERATIONS = sorted(op for op in HANDLERS if _names_a_secret(op))


@pytest.fixture
def hidden_world(world: World) -> World:
    for name, env in ((HIDDEN, "prod"), ("prod/cache", "prod"), ("prod/queue", "prod"),
                      (VISIBLE, "dev")):
        world.as_system("CreateSecret", Name=name, SecretString=f"value-of-{name}",
                        Description=f"about {name}", Tags=[{"Key": "env", "Value": env}])
    arn = world.as_system("DescribeSecret", SecretId=HIDDEN)["ARN"]
    world.grant("alice", allow(f"{SM}:*", arn.split(":secret:")[0] + ":secret:dev/*"),
                allow([f"{SM}:ListSecrets", f"{SM}:BatchGetSecretValue"]))
    return world


def _answer(world: World, operation: str, secret_id: str) -> tuple[str, str]:
    try:
        world.call("alice", operation, SecretId=secret_id, **_extra(operation))
    except LedgerError as error:
        return error.code, error.message.replace(secret_id, "<secret id>")
    return "no error", ""


def test_every_operation_naming_a_secret_is_covered():
    assert set(SECRET_OPERATIONS) >= {
        "GetSecretValue", "DescribeSecret", "ListSecretVersionIds", "GetResourcePolicy",
        "PutResourcePolicy", "DeleteResourcePolicy", "ValidateResourcePolicy", "PutSecretValue",
        "UpdateSecret", "UpdateSecretVersionStage", "DeleteSecret", "RestoreSecret",
        "TagResource", "UntagResource"}


@pytest.mark.parametrize("operation", SECRET_OPERATIONS)
def test_a_hidden_secret_answers_like_a_missing_one_by_name(hidden_world, operation):
    hidden = _answer(hidden_world, operation, HIDDEN)
    assert hidden[0] == "AccessDeniedException"
    assert hidden == _answer(hidden_world, operation, MISSING)


@pytest.mark.parametrize("operation", SECRET_OPERATIONS)
def test_a_hidden_secret_answers_like_a_missing_one_by_full_and_partial_arn(hidden_world,
                                                                            operation):
    arn = hidden_world.as_system("DescribeSecret", SecretId=HIDDEN)["ARN"]
    fabricated = arn.replace(HIDDEN, MISSING)  # same shape, random suffix and all
    assert _answer(hidden_world, operation, arn) == _answer(hidden_world, operation, fabricated)
    assert _answer(hidden_world, operation, arn[:-7]) == \
        _answer(hidden_world, operation, fabricated[:-7])
    assert _answer(hidden_world, operation, arn)[0] == "AccessDeniedException"


def test_a_refusal_names_the_secret_only_as_sent(hidden_world):
    arn = hidden_world.as_system("DescribeSecret", SecretId=HIDDEN)["ARN"]
    with pytest.raises(LedgerError) as refused:
        hidden_world.call("alice", "DescribeSecret", SecretId=HIDDEN)
    message = refused.value.message
    assert message == (f"User: arn:aws:iam::123456789012:user/alice is not authorized to "
                       f"perform: {SM}:DescribeSecret on resource: {HIDDEN} because no "
                       f"identity-based policy allows the {SM}:DescribeSecret action")
    for leak in (arn, arn[-6:], "about prod/db", "env"):
        assert leak not in message


def test_creating_under_a_hidden_name_is_refused_like_a_free_one(hidden_world):
    hidden_world.grant("bob", allow(f"{SM}:CreateSecret", "*", Condition={
        "StringLike": {f"{SM}:Name": "dev/*"}}))
    answers = []
    for name in (HIDDEN, MISSING):
        with pytest.raises(LedgerError) as refused:
            hidden_world.call("bob", "CreateSecret", Name=name, SecretString="x")
        answers.append((refused.value.code, refused.value.message.replace(name, "<name>")))
    assert answers[0] == answers[1] and answers[0][0] == "AccessDeniedException"


def test_list_secrets_shows_only_what_the_caller_may_describe(hidden_world):
    listed = hidden_world.call("alice", "ListSecrets")
    assert [s["Name"] for s in listed["SecretList"]] == [VISIBLE]
    assert "NextToken" not in listed


def test_list_filters_and_pages_never_reveal_hidden_secrets(hidden_world):
    by_name = hidden_world.call("alice", "ListSecrets",
                                Filters=[{"Key": "name", "Values": ["prod"]}])
    by_tag = hidden_world.call("alice", "ListSecrets",
                               Filters=[{"Key": "tag-value", "Values": ["prod"]}])
    one_page = hidden_world.call("alice", "ListSecrets", MaxResults=1)
    assert by_name == {"SecretList": []} and by_tag == {"SecretList": []}
    assert [s["Name"] for s in one_page["SecretList"]] == [VISIBLE]
    assert "NextToken" not in one_page  # three hidden secrets leave no trace in paging


def test_list_hides_hidden_secrets_scheduled_for_deletion_too(hidden_world):
    hidden_world.as_system("DeleteSecret", SecretId=HIDDEN, RecoveryWindowInDays=7)
    listed = hidden_world.call("alice", "ListSecrets", IncludePlannedDeletion=True)
    assert [s["Name"] for s in listed["SecretList"]] == [VISIBLE]


def test_list_is_refused_without_list_permission_even_if_every_secret_is_describable(world):
    world.as_system("CreateSecret", Name=VISIBLE, SecretString="v")
    world.grant("bob", allow(f"{SM}:DescribeSecret"))
    with pytest.raises(LedgerError) as refused:
        world.call("bob", "ListSecrets")
    assert refused.value.code == "AccessDeniedException"
    assert refused.value.message.endswith(f"perform: {SM}:ListSecrets because no identity-based "
                                          f"policy allows the {SM}:ListSecrets action")


def test_batch_by_ids_reports_hidden_and_missing_ids_alike(hidden_world):
    response = hidden_world.call("alice", "BatchGetSecretValue",
                                 SecretIdList=[HIDDEN, MISSING, VISIBLE])
    assert [v["Name"] for v in response["SecretValues"]] == [VISIBLE]
    errors = {e["SecretId"]: e for e in response["Errors"]}
    assert set(errors) == {HIDDEN, MISSING}
    hidden, missing = errors[HIDDEN], errors[MISSING]
    assert hidden["ErrorCode"] == missing["ErrorCode"] == "AccessDeniedException"
    assert hidden["Message"].replace(HIDDEN, "<id>") == missing["Message"].replace(MISSING, "<id>")


def test_batch_by_filters_leaves_out_secrets_the_caller_may_not_know(hidden_world):
    prod = hidden_world.call("alice", "BatchGetSecretValue",
                             Filters=[{"Key": "name", "Values": ["prod"]}])
    everything = hidden_world.call("alice", "BatchGetSecretValue",
                                   Filters=[{"Key": "name", "Values": [""]}], MaxResults=1)
    assert prod == {"SecretValues": [], "Errors": []}
    assert [v["Name"] for v in everything["SecretValues"]] == [VISIBLE]
    assert everything["Errors"] == [] and "NextToken" not in everything


def test_batch_reports_a_secret_the_caller_may_describe_but_not_read(hidden_world):
    arn = hidden_world.as_system("DescribeSecret", SecretId=HIDDEN)["ARN"]
    hidden_world.grant("alice", allow(f"{SM}:DescribeSecret", arn), policy_name="describe")
    response = hidden_world.call("alice", "BatchGetSecretValue",
                                 Filters=[{"Key": "name", "Values": ["prod"]}])
    assert response["SecretValues"] == []
    assert [(e["SecretId"], e["ErrorCode"]) for e in response["Errors"]] == \
        [(arn, "AccessDeniedException")]


def test_batch_needs_list_permission_for_filters(world):
    world.grant("bob", allow([f"{SM}:BatchGetSecretValue", f"{SM}:GetSecretValue"]))
    with pytest.raises(LedgerError) as refused:
        world.call("bob", "BatchGetSecretValue", Filters=[{"Key": "name", "Values": ["x"]}])
    assert f"perform: {SM}:ListSecrets " in refused.value.message


def test_over_http_list_batch_and_describe_hide_the_same_secrets(http_world):
    alice, arns = http_world
    assert [s["Name"] for s in alice.list_secrets()["SecretList"]] == [VISIBLE]
    batch = alice.batch_get_secret_value(SecretIdList=[HIDDEN, MISSING, VISIBLE])
    assert [v["Name"] for v in batch["SecretValues"]] == [VISIBLE]
    assert sorted(e["ErrorCode"] for e in batch["Errors"]) == ["AccessDeniedException"] * 2
    answers = []
    for secret_id in (HIDDEN, MISSING, arns[HIDDEN], arns[HIDDEN].replace(HIDDEN, MISSING)):
        try:
            alice.get_resource_policy(SecretId=secret_id)
        except Exception as error:  # botocore's ClientError
            answers.append((error.response["Error"]["Code"],  # type: ignore[attr-defined]
                            error.response["Error"]["Message"].replace(secret_id, "<id>")))
    assert len(set(answers)) == 1 and answers[0][0] == "AccessDeniedException"


@pytest.fixture(scope="module")
def http_world(server, audit):
    from ledger.principals import Principals
    root = make_client(server.url)
    arns = {name: root.create_secret(Name=name, SecretString="v")["ARN"]
            for name in (HIDDEN, "prod/cache", VISIBLE)}
    admin = Principals(audit.ledger, user_agent="secrets-ledger-cli")
    admin.create("alice")
    prefix = arns[HIDDEN].split(":secret:")[0] + ":secret:"
    admin.put_policy("alice", "dev", {"Version": "2012-10-17", "Statement": [
        allow(f"{SM}:*", prefix + "dev/*"),
        allow([f"{SM}:ListSecrets", f"{SM}:BatchGetSecretValue"])]})
    issued = admin.issue_key(admin.find("alice"))
    return make_client(server.url, key_id=issued.access_key_id,
                       secret=issued.secret_access_key), arns
