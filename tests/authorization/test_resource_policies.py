"""PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy and ValidateResourcePolicy: AWS
shapes and errors, events on the secret, and the policy taking effect on the next call."""
from __future__ import annotations

import json

import botocore.exceptions
import pytest

from ledger.errors import LedgerError
from ledger.events import ResourcePolicyChanged
from tests.authorization.conftest import World, allow, policy
from tests.core.support import api_calls, secret_events, secret_of
from tests.server.conftest import make_client

SM = "secretsmanager"
BOB = "arn:aws:iam::123456789012:user/bob"
GRANT_BOB = policy({"Effect": "Allow", "Principal": {"AWS": BOB},
                    "Action": f"{SM}:GetSecretValue", "Resource": "*"})
PUBLIC = policy({"Effect": "Allow", "Principal": "*", "Action": f"{SM}:GetSecretValue",
                 "Resource": "*"})


@pytest.fixture
def secret(world: World) -> str:
    return world.as_system("CreateSecret", Name="team/db", SecretString="v1")["ARN"]


def refused(world: World, who: str, operation: str, **request) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        world.call(who, operation, **request)
    return caught.value


def test_put_get_and_delete_have_aws_shapes(world, secret):
    assert world.call("root", "GetResourcePolicy", SecretId="team/db") == \
        {"ARN": secret, "Name": "team/db"}
    put = world.call("root", "PutResourcePolicy", SecretId="team/db", ResourcePolicy=GRANT_BOB)
    assert put == {"ARN": secret, "Name": "team/db"}
    got = world.call("root", "GetResourcePolicy", SecretId=secret)
    assert got == {"ARN": secret, "Name": "team/db", "ResourcePolicy": GRANT_BOB}
    assert world.call("root", "DeleteResourcePolicy", SecretId="team/db") == \
        {"ARN": secret, "Name": "team/db"}
    assert "ResourcePolicy" not in world.call("root", "GetResourcePolicy", SecretId="team/db")


def test_each_change_is_an_event_on_the_secret_with_who_did_it(world, secret):
    world.call("root", "PutResourcePolicy", SecretId="team/db", ResourcePolicy=GRANT_BOB)
    world.call("root", "DeleteResourcePolicy", SecretId="team/db")
    world.call("root", "DeleteResourcePolicy", SecretId="team/db")  # nothing left to delete
    changes = [e for e in secret_events(world.ledger, "team/db")
               if isinstance(e, ResourcePolicyChanged)]
    assert [c.policy for c in changes] == [GRANT_BOB, None]
    assert {c.context["caller"]["principal_type"] for c in changes} == {"Root"}
    assert [c.context["operation"] for c in changes] == ["PutResourcePolicy",
                                                         "DeleteResourcePolicy"]
    # The policy in force at any past version of the secret:
    put_version = changes[0].originator_version
    past = world.ledger.repository.get(secret_of(world.ledger, "team/db").id, version=put_version)
    assert past.resource_policy == GRANT_BOB


def test_a_resource_policy_grant_works_at_once_and_its_removal_revokes_it(world, secret):
    assert refused(world, "bob", "GetSecretValue", SecretId=secret).code == \
        "AccessDeniedException"
    world.call("root", "PutResourcePolicy", SecretId="team/db", ResourcePolicy=GRANT_BOB)
    assert world.call("bob", "GetSecretValue", SecretId=secret)["SecretString"] == "v1"
    world.call("root", "DeleteResourcePolicy", SecretId="team/db")
    assert refused(world, "bob", "GetSecretValue", SecretId=secret).code == \
        "AccessDeniedException"


@pytest.mark.parametrize("document", [
    '{"Version": "2012-10-17", "Statement": [',
    policy({"Effect": "Allow", "Action": f"{SM}:*", "Resource": "*"}),  # no Principal
    policy({"Effect": "Maybe", "Principal": "*", "Action": f"{SM}:*"}),
    '{"Version": "2012-10-17", "Statement": [], "Statement": []}',
])
def test_a_malformed_document_is_refused_and_nothing_but_the_audit_record_is_written(
        world, secret, document):
    before = len(secret_events(world.ledger, "team/db"))
    error = refused(world, "root", "PutResourcePolicy", SecretId="team/db",
                    ResourcePolicy=document)
    assert error.code == "MalformedPolicyDocumentException"
    assert error.message.startswith("This policy has invalid syntax.")
    assert len(secret_events(world.ledger, "team/db")) == before
    assert api_calls(world.ledger)[-1].error_code == "MalformedPolicyDocumentException"


def test_block_public_policy_refuses_broad_access_and_is_off_by_default(world, secret):
    error = refused(world, "root", "PutResourcePolicy", SecretId="team/db",
                    ResourcePolicy=PUBLIC, BlockPublicPolicy=True)
    assert error.code == "PublicPolicyException"
    assert "ResourcePolicy" not in world.call("root", "GetResourcePolicy", SecretId="team/db")
    world.call("root", "PutResourcePolicy", SecretId="team/db", ResourcePolicy=PUBLIC)
    assert world.call("root", "GetResourcePolicy", SecretId="team/db")["ResourcePolicy"] == PUBLIC
    pinned = policy({"Effect": "Allow", "Principal": "*", "Action": f"{SM}:GetSecretValue",
                     "Resource": "*", "Condition": {"StringEquals": {
                         "aws:PrincipalAccount": "123456789012"}}})
    world.call("root", "PutResourcePolicy", SecretId="team/db", ResourcePolicy=pinned,
               BlockPublicPolicy=True)


def test_validate_reports_findings_without_changing_anything(world, secret):
    passed = world.call("root", "ValidateResourcePolicy", ResourcePolicy=GRANT_BOB)
    assert passed == {"PolicyValidationPassed": True, "ValidationErrors": []}
    public = world.call("root", "ValidateResourcePolicy", SecretId="team/db",
                        ResourcePolicy=PUBLIC)
    assert public["PolicyValidationPassed"] is False
    assert [e["CheckName"] for e in public["ValidationErrors"]] == ["BROAD_ACCESS_CHECK"]
    assert "ResourcePolicy" not in world.call("root", "GetResourcePolicy", SecretId="team/db")


def test_validate_warns_a_caller_who_would_lock_themself_out(world, secret):
    world.grant("alice", allow(f"{SM}:*"))
    lockout = policy({"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:user/"
                                                              "alice"},
                      "Action": f"{SM}:PutResourcePolicy", "Resource": "*"})
    result = world.call("alice", "ValidateResourcePolicy", SecretId="team/db",
                        ResourcePolicy=lockout)
    assert [e["CheckName"] for e in result["ValidationErrors"]] == ["LOCKOUT_PREVENTION_CHECK"]


def test_validate_needs_put_resource_policy_too(world, secret):
    world.grant("alice", allow(f"{SM}:ValidateResourcePolicy"))
    error = refused(world, "alice", "ValidateResourcePolicy", ResourcePolicy=GRANT_BOB)
    assert f"perform: {SM}:PutResourcePolicy because" in error.message


def test_validate_and_put_name_a_missing_secret_as_not_found(world):
    for operation in ("ValidateResourcePolicy", "PutResourcePolicy"):
        assert refused(world, "root", operation, SecretId="no/such",
                       ResourcePolicy=GRANT_BOB).code == "ResourceNotFoundException"


def test_a_secret_scheduled_for_deletion_takes_no_new_policy(world, secret):
    world.as_system("DeleteSecret", SecretId="team/db", RecoveryWindowInDays=7)
    assert refused(world, "root", "PutResourcePolicy", SecretId="team/db",
                   ResourcePolicy=GRANT_BOB).code == "InvalidRequestException"


def test_resource_policy_operations_over_http(server):
    root = make_client(server.url)
    arn = root.create_secret(Name="http/policy", SecretString="v")["ARN"]
    assert root.put_resource_policy(SecretId=arn, ResourcePolicy=GRANT_BOB)["ARN"] == arn
    assert json.loads(root.get_resource_policy(SecretId="http/policy")["ResourcePolicy"]) == \
        json.loads(GRANT_BOB)
    validated = root.validate_resource_policy(ResourcePolicy=PUBLIC)
    assert validated["PolicyValidationPassed"] is False
    for document, extra, code in ((PUBLIC, {"BlockPublicPolicy": True}, "PublicPolicyException"),
                                  ("{", {}, "MalformedPolicyDocumentException")):
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            root.put_resource_policy(SecretId=arn, ResourcePolicy=document, **extra)
        assert caught.value.response["Error"]["Code"] == code
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    root.delete_resource_policy(SecretId=arn)
    assert "ResourcePolicy" not in root.get_resource_policy(SecretId=arn)
