"""Whom the ledger trusts, how identities map to policies, and which condition keys a call has."""
from __future__ import annotations

import dataclasses
import random

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.principals import Principals
from tests.authorization.conftest import ROOT, World, allow, deny, policy
from tests.core.support import events

SM = "secretsmanager"
DENY_THE_ACCOUNT = policy({"Effect": "Deny", "Principal": {"AWS": "123456789012"},
                           "Action": f"{SM}:GetSecretValue", "Resource": "*"})


def code_of(world: World, caller: Caller, operation: str, **request) -> str | None:
    try:
        world.ledger.call(operation, request, caller)
    except LedgerError as error:
        return error.code
    return None


@pytest.fixture
def locked(world: World) -> World:
    world.as_system("CreateSecret", Name="vault/key", SecretString="v")
    world.as_system("PutResourcePolicy", SecretId="vault/key", ResourcePolicy=DENY_THE_ACCOUNT)
    return world


def test_only_the_instance_system_made_skips_the_policies(locked):
    system = Caller.system()
    look_alike = Caller(arn=system.arn, principal_type="Root", principal_id=system.principal_id)
    assert look_alike == system and system.trusted and not look_alike.trusted
    assert not dataclasses.replace(system, access_key_id="AKIACOPY00000000000").trusted
    assert code_of(locked, system, "GetSecretValue", SecretId="vault/key") is None
    assert code_of(locked, look_alike, "GetSecretValue", SecretId="vault/key") == \
        "AccessDeniedException"


def test_the_trust_mark_is_in_no_event(locked):
    created = events(locked.ledger)
    system_contexts = [e.context["caller"] for e in created
                       if getattr(e, "context", None) and e.context["caller"]["principal_type"] ==
                       "Root"]
    assert system_contexts and all(c == dataclasses.asdict(Caller.system())
                                   for c in system_contexts)


def test_the_account_root_needs_no_policy_but_an_explicit_deny_stops_it(locked):
    locked.as_system("CreateSecret", Name="open/key", SecretString="v")
    assert code_of(locked, ROOT, "GetSecretValue", SecretId="open/key") is None
    assert code_of(locked, ROOT, "DeleteSecret", SecretId="open/key",
                   ForceDeleteWithoutRecovery=True) is None
    assert code_of(locked, ROOT, "GetSecretValue", SecretId="vault/key") == \
        "AccessDeniedException"


def test_any_other_caller_without_an_allow_is_refused(world):
    world.as_system("CreateSecret", Name="plain", SecretString="v")
    strangers = [Caller(arn="arn:aws:iam::123456789012:user/nobody"),  # not a principal
                 world.caller("bob"),  # a principal without policies
                 Caller(arn="arn:aws:iam::210987654321:root", principal_type="Root",
                        account_id="210987654321"),  # another account's root
                 Caller(arn="")]
    for stranger in strangers:
        assert code_of(world, stranger, "GetSecretValue", SecretId="plain") == \
            "AccessDeniedException"
        assert code_of(world, stranger, "GetRandomPassword") == "AccessDeniedException"


def test_a_ledger_configured_without_authorization_trusts_every_caller(tmp_path):
    ledger = SecretsLedger(LedgerConfig(authorization=False), rng=random.Random(1))
    nobody = Caller(arn="arn:aws:iam::123456789012:user/nobody")
    ledger.call("CreateSecret", {"Name": "free", "SecretString": "v"}, nobody)
    assert ledger.call("GetSecretValue", {"SecretId": "free"}, nobody)["SecretString"] == "v"
    assert LedgerConfig().authorization is True


def test_a_role_session_acts_with_its_roles_policies(world):
    world.as_system("CreateSecret", Name="deploy/key", SecretString="v")
    session = Caller(arn="arn:aws:sts::123456789012:assumed-role/deployer/ci-run-7",
                     principal_type="AssumedRole", principal_id="AROADEPLOYER:ci-run-7")
    with pytest.raises(LedgerError) as refused:
        world.ledger.call("GetSecretValue", {"SecretId": "deploy/key"}, session)
    assert refused.value.message.startswith(f"User: {session.arn} is not authorized")
    world.grant("deployer", allow(f"{SM}:GetSecretValue"))
    assert world.ledger.call("GetSecretValue", {"SecretId": "deploy/key"}, session)
    assert code_of(world, world.caller("deployer"), "GetSecretValue", SecretId="deploy/key") \
        is None


def test_a_revoked_policy_stops_the_very_next_call_in_another_process(tmp_path, clock):
    config = LedgerConfig(data_dir=tmp_path / "data")
    admin_side = SecretsLedger(config, clock=clock)
    serving = SecretsLedger(config, clock=clock)
    admin = Principals(admin_side)
    alice = admin.create("alice").caller()
    admin_side.call("CreateSecret", {"Name": "shared", "SecretString": "v"}, Caller.system())
    admin.put_policy("alice", "read", policy(allow(f"{SM}:GetSecretValue")))
    assert serving.call("GetSecretValue", {"SecretId": "shared"}, alice)["SecretString"] == "v"
    admin.delete_policy("alice", "read")
    with pytest.raises(LedgerError) as refused:
        serving.call("GetSecretValue", {"SecretId": "shared"}, alice)
    assert refused.value.code == "AccessDeniedException"


def test_a_deleted_principal_loses_its_policies_and_a_new_one_of_that_name_starts_bare(world):
    world.as_system("CreateSecret", Name="plain", SecretString="v")
    world.grant("alice", allow(f"{SM}:*"))
    old = world.caller("alice")
    issued = world.admin.issue_key(world.admin.find("alice"))
    world.admin.delete("alice")
    assert code_of(world, old, "GetSecretValue", SecretId="plain") == "AccessDeniedException"
    assert world.admin.credentials(issued.access_key_id) is None
    again = world.admin.create("alice")
    assert again.principal_id != old.principal_id and again.policies == {}
    assert code_of(world, again.caller(), "GetSecretValue", SecretId="plain") == \
        "AccessDeniedException"


def test_version_stage_condition_comes_from_the_request(world):
    world.as_system("CreateSecret", Name="staged", SecretString="v1")
    world.as_system("PutSecretValue", SecretId="staged", SecretString="v2")
    world.grant("alice", allow(f"{SM}:GetSecretValue", Condition={
        "StringEquals": {f"{SM}:VersionStage": "AWSCURRENT"}}))
    alice = world.caller("alice")
    assert code_of(world, alice, "GetSecretValue", SecretId="staged",
                   VersionStage="AWSCURRENT") is None
    assert code_of(world, alice, "GetSecretValue", SecretId="staged",
                   VersionStage="AWSPREVIOUS") == "AccessDeniedException"
    assert code_of(world, alice, "GetSecretValue", SecretId="staged") == "AccessDeniedException"


def test_moving_a_label_is_decided_on_the_label_moved(world):
    created = world.as_system("CreateSecret", Name="staged", SecretString="v1")
    world.grant("alice", allow(f"{SM}:UpdateSecretVersionStage", Condition={
        "StringLike": {f"{SM}:VersionStage": "TEST*"}}))
    alice = world.caller("alice")
    assert code_of(world, alice, "UpdateSecretVersionStage", SecretId="staged",
                   VersionStage="TESTING", MoveToVersionId=created["VersionId"]) is None
    assert code_of(world, alice, "UpdateSecretVersionStage", SecretId="staged",
                   VersionStage="AWSCURRENT", MoveToVersionId=created["VersionId"]) == \
        "AccessDeniedException"


def test_tag_conditions_see_the_secrets_tags_and_the_requests_tags(world):
    world.as_system("CreateSecret", Name="tagged", SecretString="v",
                    Tags=[{"Key": "team", "Value": "data"}])
    world.grant("alice", allow(f"{SM}:TagResource", Condition={
        "StringEquals": {f"{SM}:ResourceTag/team": "data"}}),
        deny(f"{SM}:TagResource", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "owner"}}))
    alice = world.caller("alice")
    assert code_of(world, alice, "TagResource", SecretId="tagged",
                   Tags=[{"Key": "tier", "Value": "1"}]) is None
    assert code_of(world, alice, "TagResource", SecretId="tagged",
                   Tags=[{"Key": "owner", "Value": "me"}]) == "AccessDeniedException"
    world.as_system("TagResource", SecretId="tagged", Tags=[{"Key": "team", "Value": "web"}])
    assert code_of(world, alice, "TagResource", SecretId="tagged",
                   Tags=[{"Key": "tier", "Value": "2"}]) == "AccessDeniedException"


def test_create_with_tags_also_needs_tag_resource(world):
    world.grant("alice", allow(f"{SM}:CreateSecret"))
    alice = world.caller("alice")
    assert code_of(world, alice, "CreateSecret", Name="a/1", SecretString="v") is None
    with pytest.raises(LedgerError) as refused:
        world.ledger.call("CreateSecret", {"Name": "a/2", "SecretString": "v",
                                           "Tags": [{"Key": "k", "Value": "v"}]}, alice)
    assert f"perform: {SM}:TagResource on resource: a/2 " in refused.value.message


def test_create_is_decided_on_the_arn_the_secret_will_have(world):
    world.grant("alice", allow(f"{SM}:*", "arn:aws:secretsmanager:us-east-1:123456789012:"
                                          "secret:${aws:username}/*-??????"))
    alice = world.caller("alice")
    created = world.ledger.call("CreateSecret", {"Name": "alice/db", "SecretString": "v"}, alice)
    assert created["ARN"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:"
                                     "alice/db-")
    assert world.ledger.call("GetSecretValue", {"SecretId": created["ARN"]}, alice)
    assert code_of(world, alice, "CreateSecret", Name="bob/db", SecretString="v") == \
        "AccessDeniedException"
