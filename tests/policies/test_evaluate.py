"""Decisions and their explanations: deny precedence, cross-account rules, root, key policies."""
from __future__ import annotations

from typing import Any

from ledger.policies import (AuthzRequest, PolicyKind, default_key_policy, evaluate,
                             evaluate_key, managed_key_policy, parse_policy)
from tests.policies.support import (ACCOUNT, OTHER_ACCOUNT, PRINCIPALS, REGION, identity, request,
                                    resource)

GET = "secretsmanager:GetSecretValue"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALLOW_ALL = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}


def _to(principal: Any, effect: str = "Allow", action: str = GET, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": "*", **extra}


def test_explicit_deny_in_one_policy_beats_an_allow_in_another_and_names_the_statement() -> None:
    readers = identity(ALLOW_ALL, name="readers")
    guard = identity({"Sid": "NoProd", "Effect": "Deny", "Action": GET, "Resource": "*"},
                     name="guardrail")
    decision = evaluate(request("alice", "GetSecretValue", "prod/db"), [readers, guard])
    assert (decision.allowed, decision.explicit, decision.policy_type) == (
        False, True, "identity-based")
    assert decision.statement is not None
    assert (decision.statement.policy_name, decision.statement.index,
            decision.statement.sid) == ("guardrail", 1, "NoProd")
    assert decision.as_audit() == {
        "decision": "Deny", "explicit": True, "policyType": "identity-based",
        "reason": "explicit deny in statement 1 (NoProd)",
        "statement": {"policyType": "identity-based", "policyName": "guardrail", "statement": 1,
                      "sid": "NoProd"}}


def test_allow_names_the_granting_statement() -> None:
    decision = evaluate(request("bob", "DescribeSecret", "dev/app"),
                        [identity({"Effect": "Deny", "Action": GET, "Resource": "*"}, ALLOW_ALL,
                                  name="ops")])
    assert decision.allowed and not decision.explicit
    assert decision.statement is not None and decision.statement.index == 2
    assert decision.reason == "allowed by statement 2"


def test_implicit_deny_has_no_statement() -> None:
    decision = evaluate(request("bob", "GetSecretValue", "prod/db"), [])
    assert (decision.allowed, decision.explicit, decision.statement) == (False, False, None)
    assert decision.reason == "no identity-based policy allows the action"


def test_resource_policy_deny_is_reported_as_resource_based() -> None:
    req = request("alice", "GetSecretValue", "prod/db")
    decision = evaluate(req, [identity(ALLOW_ALL)],
                        resource(_to({"AWS": PRINCIPALS["alice"]}, "Deny")))
    assert (decision.explicit, decision.policy_type) == (True, "resource-based")
    assert decision.message(req).endswith("with an explicit deny in a resource-based policy")


def _deny_all_but(*names: str) -> Any:
    return resource({"Effect": "Deny", "NotPrincipal": {"AWS": list(names)},
                     "Action": "secretsmanager:*", "Resource": "*"})


def test_not_principal_deny_spares_a_principal_named_together_with_its_account() -> None:
    policy = _deny_all_but(PRINCIPALS["deployer"], ACCOUNT)
    everyone = [identity(ALLOW_ALL)]
    assert evaluate(request("deployer", "GetSecretValue", "prod/db"), everyone, policy).allowed
    assert evaluate(request("session", "GetSecretValue", "prod/db"), everyone, policy).allowed
    assert evaluate(request("root", "GetSecretValue", "prod/db"), everyone, policy).allowed
    assert not evaluate(request("alice", "GetSecretValue", "prod/db"), everyone, policy).allowed


def test_not_principal_naming_only_the_role_or_only_the_account_spares_no_user() -> None:
    everyone = [identity(ALLOW_ALL)]
    deployer = request("deployer", "GetSecretValue", "prod/db")
    assert not evaluate(deployer, everyone, _deny_all_but(PRINCIPALS["deployer"])).allowed
    assert not evaluate(deployer, everyone, _deny_all_but(ACCOUNT)).allowed
    assert evaluate(request("root", "GetSecretValue", "prod/db"), [],
                    _deny_all_but(ACCOUNT)).allowed


def test_cross_account_needs_both_identity_and_resource_policy() -> None:
    outsider = request("outsider", "GetSecretValue", "prod/db")
    grants_account = resource(_to({"AWS": OTHER_ACCOUNT}))
    own_allow = [identity(ALLOW_ALL)]
    assert evaluate(outsider, own_allow, grants_account).allowed
    no_resource = evaluate(outsider, own_allow, None)
    assert (no_resource.allowed, no_resource.policy_type) == (False, "resource-based")
    assert "because no resource-based policy allows" in no_resource.message(outsider)
    no_identity = evaluate(outsider, [], grants_account)
    assert (no_identity.allowed, no_identity.policy_type) == (False, "identity-based")


def test_cross_account_resource_policy_naming_our_account_does_not_admit_outsiders() -> None:
    outsider = request("outsider", "GetSecretValue", "prod/db")
    assert not evaluate(outsider, [identity(ALLOW_ALL)], resource(_to({"AWS": ACCOUNT}))).allowed


def test_root_of_another_account_is_not_our_root() -> None:
    foreign_root = request(f"arn:aws:iam::{OTHER_ACCOUNT}:root", "GetSecretValue", "prod/db")
    assert not evaluate(foreign_root, []).allowed
    assert evaluate(foreign_root, [], resource(_to({"AWS": OTHER_ACCOUNT}))).allowed


def test_wildcard_principal_resource_policy_admits_same_account_callers_without_identity() -> None:
    policy = resource(_to("*"))
    assert evaluate(request("bob", "GetSecretValue", "prod/db"), [], policy).allowed
    assert not evaluate(request("bob", "PutSecretValue", "prod/db"), [], policy).allowed


def test_service_principal_is_admitted_by_a_resource_policy_naming_it() -> None:
    service = AuthzRequest("secretsmanager.amazonaws.com", ACCOUNT, GET,
                           f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-AbCdEf")
    policy = resource(_to({"Service": "secretsmanager.amazonaws.com"}))
    assert evaluate(service, [], policy).allowed
    assert not evaluate(service, []).allowed


def test_resource_policy_conditions_are_evaluated_against_the_request() -> None:
    policy = resource(_to({"AWS": PRINCIPALS["bob"]}, Condition={
        "IpAddress": {"aws:SourceIp": "10.0.0.0/24"}, "Bool": {"aws:SecureTransport": "true"}}))
    assert evaluate(request("bob", "GetSecretValue", "prod/db"), [], policy).allowed
    outside = request("bob", "GetSecretValue", "prod/db", extra={"aws:SourceIp": "192.0.2.1"})
    assert not evaluate(outside, [], policy).allowed


def _kms(principal: str, action: str = "kms:Decrypt", **context: Any) -> AuthzRequest:
    return AuthzRequest(PRINCIPALS.get(principal, principal), ACCOUNT, action, KEY_ARN, context)


KMS_USE = identity({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": KEY_ARN})


def test_default_key_policy_delegates_to_identity_policies() -> None:
    policy = default_key_policy(ACCOUNT)
    assert evaluate_key(_kms("alice"), [KMS_USE], policy).allowed
    missing = evaluate_key(_kms("alice"), [], policy)
    assert (missing.allowed, missing.policy_type) == (False, "identity-based")
    assert not evaluate_key(_kms("alice", "kms:Encrypt"), [KMS_USE], policy).allowed
    assert evaluate_key(_kms("root", "kms:Encrypt"), [], policy).allowed


def test_key_policy_naming_a_user_suffices_without_identity_policy() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        _to({"AWS": PRINCIPALS["bob"]}, action="kms:Decrypt")]}, PolicyKind.KEY, name="key")
    assert evaluate_key(_kms("bob"), [], policy).allowed
    alice = evaluate_key(_kms("alice"), [KMS_USE], policy)
    assert (alice.allowed, alice.policy_type) == (False, "resource-based")
    assert evaluate_key(_kms("root"), [], policy).allowed is False


def test_key_policy_deny_overrides_identity_allow() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        _to({"AWS": ACCOUNT}, action="kms:*"),
        _to({"AWS": PRINCIPALS["alice"]}, "Deny", action="kms:Decrypt")]}, PolicyKind.KEY)
    decision = evaluate_key(_kms("alice"), [KMS_USE], policy)
    assert (decision.allowed, decision.explicit, decision.policy_type) == (
        False, True, "resource-based")
    assert evaluate_key(_kms("alice", "kms:GenerateDataKey"), [KMS_USE], policy).allowed


def test_cross_account_key_use_needs_key_policy_and_identity_policy() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        _to({"AWS": PRINCIPALS["outsider"]}, action="kms:Decrypt")]}, PolicyKind.KEY)
    assert evaluate_key(_kms("outsider"), [KMS_USE], policy).allowed
    assert not evaluate_key(_kms("outsider"), [], policy).allowed


def test_managed_key_is_usable_only_through_secrets_manager_by_account_principals() -> None:
    policy = managed_key_policy(ACCOUNT, REGION)
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    assert evaluate_key(_kms("alice", **via), [], policy).allowed
    assert not evaluate_key(_kms("alice"), [], policy).allowed
    assert not evaluate_key(_kms("alice", **{**via, "kms:ViaService": "s3.us-east-1.amazonaws.com"}),
                            [], policy).allowed
    assert not evaluate_key(_kms("outsider", **{**via, "kms:CallerAccount": OTHER_ACCOUNT}),
                            [KMS_USE], policy).allowed


def test_a_context_key_spelled_twice_in_different_case_fails_closed() -> None:
    """Tags `team` and `TEAM` both make `aws:ResourceTag/team` (condition key names are
    case-insensitive): a statement reading it treats it as matching a Deny, never an Allow."""
    shadowed = request("alice", "GetSecretValue", "prod/db",
                       extra={"aws:ResourceTag/TEAM": "eve-team"})
    read_own = {"Effect": "Allow", "Action": GET, "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": "eve-team"}}}
    assert not evaluate(shadowed, [identity(read_own)]).allowed
    by_variable = {"Effect": "Allow", "Action": GET, "Resource": "*",
                   "Condition": {"StringEquals": {"aws:PrincipalTag/x": "${aws:ResourceTag/TEAM}"}}}
    assert not evaluate(shadowed, [identity(by_variable)]).allowed
    guard = {"Effect": "Deny", "Action": GET, "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:ResourceTag/Team": "data"}}}
    decision = evaluate(shadowed, [identity(ALLOW_ALL, guard)])
    assert (decision.allowed, decision.explicit) == (False, True)
    unrelated = {"Effect": "Allow", "Action": GET, "Resource": "*",
                 "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}
    assert evaluate(shadowed, [identity(unrelated)]).allowed
    assert shadowed.ambiguous == {"aws:resourcetag/team"}
    assert request("alice", "GetSecretValue", "prod/db").ambiguous == frozenset()
