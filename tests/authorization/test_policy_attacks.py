"""Attacks on the policy engine through the real server, each as a principal with its own key.

mallory may do anything to `mallory/*`, including attaching resource policies to her secrets,
and nothing else but listing; the server's other users must not feel what she writes there.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from ledger.errors import LedgerError
from ledger.principals import Principals
from tests.authorization.conftest import allow, deny, policy
from tests.server.conftest import AuditLog, ServerProcess, make_client, signed_request

SM = "secretsmanager"


class Admin:
    """Principals and their keys, written to the server's log as the CLI would."""

    def __init__(self, server: ServerProcess, audit: AuditLog) -> None:
        self.url, self.principals = server.url, Principals(audit.ledger,
                                                           user_agent="secrets-ledger-cli")
        self.keys: dict[str, tuple[str, str]] = {}

    def user(self, name: str, *statements: dict[str, Any]) -> Any:
        """Create the user with one identity policy; return a boto3 client signed as it."""
        self.principals.create(name)
        self.principals.put_policy(name, "p", policy(*statements))
        issued = self.principals.issue_key(self.principals.find(name))
        self.keys[name] = (issued.access_key_id, issued.secret_access_key)
        return make_client(self.url, key_id=issued.access_key_id,
                           secret=issued.secret_access_key)

    def raw(self, name: str, operation: str, body: dict[str, Any],
            headers: dict[str, str] | None = None) -> Any:
        """A signed request with headers of our choosing (boto3 decorates its User-Agent)."""
        key_id, secret = self.keys[name]
        return signed_request(self.url, f"{SM}.{operation}", json.dumps(body), key_id=key_id,
                              secret=secret, headers=headers)


@pytest.fixture(scope="module")
def admin(server: ServerProcess, audit: AuditLog) -> Admin:
    return Admin(server, audit)


@pytest.fixture(scope="module")
def root(server: ServerProcess) -> Any:
    return make_client(server.url)


@pytest.fixture(scope="module")
def mallory(admin: Admin) -> Any:
    return admin.user("mallory", allow(f"{SM}:*", f"arn:aws:{SM}:*:*:secret:mallory/*"),
                      allow([f"{SM}:ListSecrets", f"{SM}:GetRandomPassword"]))


def code_of(call: Any, *args: Any, **kwargs: Any) -> str | None:
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as error:
        return error.response["Error"]["Code"]
    return None


# ---- 1. pathological wildcard patterns ---------------------------------------------------------
STARS = "*a" * 12 + "*b"
"""Against a run of 1,000 `a`s a backtracking matcher tries ~10^24 splits before giving up."""


def test_a_user_agent_against_a_many_star_pattern_is_answered_at_once(admin, mallory):
    """The request is answered correctly (the Deny does not match, so the value comes back)
    well within the client's 30-second timeout, which once expired with the server frozen."""
    mallory.create_secret(Name="mallory/ua", SecretString="mine")
    mallory.put_resource_policy(SecretId="mallory/ua", ResourcePolicy=policy(
        deny(f"{SM}:GetSecretValue", Principal="*",
             Condition={"StringLike": {"aws:UserAgent": STARS}})))
    reply = admin.raw("mallory", "GetSecretValue", {"SecretId": "mallory/ua"},
                      headers={"User-Agent": "a" * 1000})
    assert reply.status_code == 200 and reply.json()["SecretString"] == "mine"
    denied = admin.raw("mallory", "GetSecretValue", {"SecretId": "mallory/ua"},
                       headers={"User-Agent": "a" * 1000 + "b"})
    assert denied.json()["__type"] == "AccessDeniedException"


def test_a_secret_name_against_a_many_star_pattern_does_not_freeze_anyone_s_listing(
        root, mallory):
    """The persistent form: every ListSecrets evaluates the policy of every secret it shows."""
    name = "mallory/" + "a" * 500
    mallory.create_secret(Name=name, SecretString="x")
    mallory.put_resource_policy(SecretId=name, ResourcePolicy=policy(
        deny(f"{SM}:*", Principal="*", Condition={"StringLike": {f"{SM}:Name": STARS}})))
    names = [s["Name"] for s in root.list_secrets(MaxResults=100)["SecretList"]]
    assert name in names
    # No ARN holds "!" (the random suffix could hold the "b" of STARS and make the Deny match)
    resource = "arn:aws:secretsmanager:*:*:secret:" + STARS[:-1] + "!"
    mallory.put_resource_policy(SecretId=name, ResourcePolicy=policy(
        deny(f"{SM}:DescribeSecret", resource, Principal="*"),
        deny(f"{SM}:DescribeSecret", Principal="*",
             Condition={"ArnLike": {f"{SM}:SecretId": resource}})))
    assert name in [s["Name"] for s in root.list_secrets(MaxResults=100)["SecretList"]]


# ---- 3. several version stages in one PutSecretValue ---------------------------------------
PENDING_ONLY = {"StringEquals": {f"{SM}:VersionStage": "AWSPENDING"}}
NOT_PENDING = {"StringNotEquals": {f"{SM}:VersionStage": "AWSPENDING"}}


@pytest.fixture(scope="module")
def rotators(admin: Admin, root: Any) -> dict[str, Any]:
    """One rotator allowed only AWSPENDING, one allowed all but denied anything else."""
    root.create_secret(Name="prod/rotated", SecretString="the current value")
    prod = f"arn:aws:{SM}:*:*:secret:prod/*"
    return {
        "allow-pending": admin.user("rotator", allow(f"{SM}:PutSecretValue", prod,
                                                     Condition=PENDING_ONLY)),
        "deny-other": admin.user("rotator2", allow(f"{SM}:PutSecretValue", prod),
                                 deny(f"{SM}:PutSecretValue", Condition=NOT_PENDING)),
    }


@pytest.mark.parametrize("policy_shape", ["allow-pending", "deny-other"])
def test_a_pending_only_rotator_cannot_promote_its_value_by_listing_current_too(
        root, rotators, policy_shape):
    rotator = rotators[policy_shape]
    for stages in (["AWSPENDING", "AWSCURRENT"], ["AWSCURRENT", "AWSPENDING"],
                   ["AWSPENDING", "AWSPREVIOUS"], ["AWSCURRENT"]):
        assert code_of(rotator.put_secret_value, SecretId="prod/rotated",
                       SecretString="attacker value",
                       VersionStages=stages) == "AccessDeniedException", stages
    assert code_of(rotator.put_secret_value, SecretId="prod/rotated",
                   SecretString="attacker value") == "AccessDeniedException"
    assert root.get_secret_value(SecretId="prod/rotated")["SecretString"] == "the current value"
    put = rotator.put_secret_value(SecretId="prod/rotated", SecretString="next value",
                                   VersionStages=["AWSPENDING"])
    assert put["VersionStages"] == ["AWSPENDING"]
    assert root.get_secret_value(SecretId="prod/rotated")["SecretString"] == "the current value"


def test_a_pending_only_rotator_cannot_give_a_secret_its_first_value(root, rotators):
    """A secret's first value becomes AWSCURRENT whatever VersionStages says."""
    root.create_secret(Name="prod/empty")
    assert code_of(rotators["allow-pending"].put_secret_value, SecretId="prod/empty",
                   SecretString="attacker value",
                   VersionStages=["AWSPENDING"]) == "AccessDeniedException"


# ---- 2. tag keys that differ only in case ---------------------------------------------------
EVE = [allow([f"{SM}:TagResource", f"{SM}:DescribeSecret", f"{SM}:CreateSecret"]),
       deny([f"{SM}:TagResource", f"{SM}:UntagResource"],
            Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}),
       allow(f"{SM}:GetSecretValue",
             Condition={"StringEquals": {"aws:ResourceTag/team": "eve-team"}})]


@pytest.fixture(scope="module")
def eve(admin: Admin) -> Any:
    """May tag anything except the key `team`, and read what is tagged team=eve-team."""
    return admin.user("eve", *EVE)


def test_a_tag_key_differing_only_in_case_cannot_shadow_the_one_abac_reads(root, eve):
    root.create_secret(Name="hr/payroll", SecretString="salaries",
                       Tags=[{"Key": "team", "Value": "payroll"}])
    assert code_of(eve.get_secret_value, SecretId="hr/payroll") == "AccessDeniedException"
    assert code_of(eve.tag_resource, SecretId="hr/payroll",
                   Tags=[{"Key": "team", "Value": "eve-team"}]) == "AccessDeniedException"
    for spelling in ("TEAM", "Team", "tEaM"):
        assert code_of(eve.tag_resource, SecretId="hr/payroll",
                       Tags=[{"Key": spelling, "Value": "eve-team"}]) == \
            "InvalidParameterException"
    assert root.describe_secret(SecretId="hr/payroll")["Tags"] == [
        {"Key": "team", "Value": "payroll"}]
    assert code_of(eve.get_secret_value, SecretId="hr/payroll") == "AccessDeniedException"


def test_one_request_cannot_carry_two_spellings_of_a_tag_key(root, eve):
    both = [{"Key": "Team", "Value": "eve-team"}, {"Key": "TEAM", "Value": "eve-team"}]
    assert code_of(eve.create_secret, Name="eve/new", SecretString="x",
                   Tags=both) == "InvalidParameterException"
    root.create_secret(Name="eve/other", SecretString="x")
    assert code_of(root.tag_resource, SecretId="eve/other",
                   Tags=both) == "InvalidParameterException"
    assert "Tags" not in root.describe_secret(SecretId="eve/other")
    root.tag_resource(SecretId="eve/other", Tags=[{"Key": "Team", "Value": "a"}])
    root.tag_resource(SecretId="eve/other", Tags=[{"Key": "Team", "Value": "b"}])  # same key
    assert root.describe_secret(SecretId="eve/other")["Tags"] == [{"Key": "Team", "Value": "b"}]


# ---- 5. aws:PrincipalType spelled as IAM documents it -----------------------------------------
def test_a_deny_on_iam_principal_types_stops_users_and_the_root(root, mallory):
    """IAM's values are User, Account, AssumedRole; the key once carried IAMUser and Root,
    so a guardrail written from the IAM documentation never fired."""
    mallory.create_secret(Name="mallory/typed", SecretString="mine")
    mallory.put_resource_policy(SecretId="mallory/typed", ResourcePolicy=policy(
        deny(f"{SM}:GetSecretValue", Principal="*",
             Condition={"StringEquals": {"aws:PrincipalType": ["User", "Account"]}})))
    assert code_of(mallory.get_secret_value, SecretId="mallory/typed") == "AccessDeniedException"
    assert code_of(root.get_secret_value, SecretId="mallory/typed") == "AccessDeniedException"
    mallory.put_resource_policy(SecretId="mallory/typed", ResourcePolicy=policy(
        deny(f"{SM}:GetSecretValue", Principal="*",
             Condition={"StringEquals": {"aws:PrincipalType": "AssumedRole"}})))
    assert mallory.get_secret_value(SecretId="mallory/typed")["SecretString"] == "mine"


# ---- 6. deeply nested policy documents ----------------------------------------------------------
DEEP = "[" * 5000 + "]" * 5000
DEEP_IN_A_CONDITION = policy(deny(f"{SM}:GetSecretValue", Principal="*")).replace(
    '"Principal": "*"', '"Principal": "*", "Condition": {"StringEquals": {"a:b": '
    + "[" * 3000 + "]" * 3000 + "}}")


@pytest.mark.parametrize("document", [DEEP, DEEP_IN_A_CONDITION], ids=["bare", "in-condition"])
def test_a_deeply_nested_policy_is_malformed_not_a_server_error(admin, mallory, document):
    mallory.create_secret(Name=f"mallory/deep-{len(document)}", SecretString="x")
    for operation in ("PutResourcePolicy", "ValidateResourcePolicy"):
        reply = admin.raw("mallory", operation, {"SecretId": f"mallory/deep-{len(document)}",
                                                 "ResourcePolicy": document})
        assert (reply.status_code, reply.json()["__type"]) == (
            400, "MalformedPolicyDocumentException"), operation


def test_every_line_the_ledger_logs_on_the_server_s_stderr_is_json():
    """The server's logging configuration covers the `ledger` and `projections` loggers too."""
    script = ("import logging, logging.config\n"
              "from tools.server import logging_config\n"
              "logging.config.dictConfig(logging_config('info'))\n"
              "logging.getLogger('ledger.application').error('internal error %s', 'X')\n"
              "logging.getLogger('projections.read_models').warning('behind')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    lines = done.stderr.splitlines()
    assert [json.loads(line)["logger"] for line in lines] == [
        "ledger.application", "projections.read_models"]


def test_a_role_is_an_assumed_role_to_principal_type_guardrails(world):
    """Through the library: a role's calls carry `AssumedRole`, the value IAM gives sessions."""
    world.as_system("CreateSecret", Name="deploy/key", SecretString="k")
    world.grant("deployer", allow(f"{SM}:GetSecretValue"),
                deny(f"{SM}:GetSecretValue",
                     Condition={"StringEquals": {"aws:PrincipalType": "AssumedRole"}}))
    with pytest.raises(LedgerError) as refused:
        world.call("deployer", "GetSecretValue", SecretId="deploy/key")
    assert refused.value.code == "AccessDeniedException"
