"""Names are one namespace across Regions (until the Regions work separates them), so a call
naming an existing secret is decided against the ARN that secret has, in its own Region, never
against one built from the Region the request was signed for. Attacks through boto3."""
from __future__ import annotations

import uuid

import botocore.exceptions
import pytest

from ledger.principals import Principals
from tests.authorization.conftest import allow, policy
from tests.server.conftest import make_client

SM = "secretsmanager"
EU_ONLY = allow(f"{SM}:*", f"arn:aws:{SM}:eu-west-1:123456789012:secret:*")


@pytest.fixture(scope="module")
def eve(server, audit):
    """A principal whose policies allow everything, but only on eu-west-1 secrets; signs for
    eu-west-1."""
    admin = Principals(audit.ledger, user_agent="secrets-ledger-cli")
    admin.create("eve")
    admin.put_policy("eve", "eu-only", policy(EU_ONLY, allow(f"{SM}:BatchGetSecretValue")))
    issued = admin.issue_key(admin.find("eve"))
    return make_client(server.url, region="eu-west-1", key_id=issued.access_key_id,
                       secret=issued.secret_access_key)


def error_of(call, **request) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**request)
    return caught.value.response["Error"]


def test_create_secret_of_a_name_taken_in_another_region_is_decided_on_that_secrets_arn(
        server, audit, eve):
    """CreateSecret of a taken name answers about the secret holding it (it exists; to the
    maker of a version, the idempotent retry even gives its ARN), so a principal limited to
    eu-west-1 ARNs, signing for eu-west-1, is refused for a us-west-2 secret's name."""
    token = str(uuid.uuid4())
    root = make_client(server.url)  # us-west-2
    arn = root.create_secret(Name="regions/prod-db", SecretString="hunter2",
                             ClientRequestToken=token)["ARN"]
    assert ":us-west-2:" in arn
    position = audit.position()

    right_guess = error_of(eve.create_secret, Name="regions/prod-db", SecretString="hunter2",
                           ClientRequestToken=token)
    wrong_guess = error_of(eve.create_secret, Name="regions/prod-db", SecretString="letmein",
                           ClientRequestToken=token)
    plain = error_of(eve.create_secret, Name="regions/prod-db", SecretString="x")

    for error in (right_guess, wrong_guess, plain):
        assert error["Code"] == "AccessDeniedException"
        assert arn not in error["Message"] and "regions/prod-db" in error["Message"]
    assert {type(e).__name__ for e in audit.events_after(position)} == {"ApiCallRecorded"}
    assert eve.create_secret(Name="regions/eu-only", SecretString="v")["ARN"].startswith(
        "arn:aws:secretsmanager:eu-west-1:")  # a free name: the eu-west-1 ARN it will get


@pytest.mark.parametrize("operation, request_", [
    ("get_secret_value", {}), ("describe_secret", {}), ("put_secret_value",
                                                        {"SecretString": "v2"}),
    ("update_secret", {"Description": "mine now"}), ("tag_resource", {"Tags": [
        {"Key": "owner", "Value": "eve"}]}),
    ("put_resource_policy", {"ResourcePolicy": policy(
        {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": f"{SM}:*",
         "Resource": "*"})}),
    ("delete_secret", {"ForceDeleteWithoutRecovery": True}),
    ("update_secret_version_stage", {"VersionStage": "mine"}),
])
def test_calls_naming_a_secret_of_another_region_are_decided_on_its_real_arn(
        server, eve, operation, request_):
    root = make_client(server.url)
    name = f"regions/{operation}"
    root.create_secret(Name=name, SecretString="v1")
    error = error_of(getattr(eve, operation), SecretId=name, **request_)
    assert error["Code"] == "AccessDeniedException", error
    assert root.get_secret_value(SecretId=name)["SecretString"] == "v1"
    batch = eve.batch_get_secret_value(SecretIdList=[name]) if operation == "get_secret_value" \
        else None
    if batch is not None:
        assert batch["SecretValues"] == [] and \
            [e["ErrorCode"] for e in batch["Errors"]] == ["AccessDeniedException"]
