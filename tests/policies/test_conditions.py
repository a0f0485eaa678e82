"""Condition operators, set qualifiers, IfExists, Null and policy variables, as IAM documents them."""
from __future__ import annotations

from typing import Any

import pytest

from ledger.policies import AuthzRequest, evaluate, parse_policy, PolicyKind
from ledger.policies.conditions import condition_holds, conditions_hold, parse_conditions

MISSING = object()
KEY = "test:key"
ROLE_ARN = "arn:aws:iam::123456789012:role/deployer"


def holds(operator: str, policy_values: Any, context_value: Any) -> bool:
    (condition,) = parse_conditions({operator: {KEY: policy_values}})
    context = {} if context_value is MISSING else {KEY: context_value}
    request = AuthzRequest("arn:aws:iam::123456789012:user/alice", "123456789012", "x:y", "*",
                           context)
    return condition_holds(condition, request.lookup, variables=True)


CASES: list[tuple[str, Any, Any, bool]] = [
    ("StringEquals", "prod", "prod", True),
    ("StringEquals", "prod", "Prod", False),
    ("StringEquals", ["dev", "prod"], "prod", True),
    ("StringEquals", "prod", MISSING, False),
    ("StringNotEquals", "prod", "dev", True),
    ("StringNotEquals", ["dev", "prod"], "prod", False),
    ("StringNotEquals", "prod", MISSING, True),
    ("StringEqualsIgnoreCase", "PROD", "prod", True),
    ("StringNotEqualsIgnoreCase", "PROD", "prod", False),
    ("StringNotEqualsIgnoreCase", "PROD", MISSING, True),
    ("StringLike", "prod/*", "prod/db", True),
    ("StringLike", "prod/??", "prod/db", True),
    ("StringLike", "prod/?", "prod/db", False),
    ("StringLike", "Prod/*", "prod/db", False),
    ("StringLike", "prod", "prod/db", False),
    ("StringNotLike", "prod/*", "dev/db", True),
    ("StringNotLike", "prod/*", "prod/db", False),
    ("StringNotLike", "prod/*", MISSING, True),
    ("ArnEquals", "arn:aws:iam::123456789012:role/*", ROLE_ARN, True),
    ("ArnLike", "arn:aws:iam::*:role/deployer", ROLE_ARN, True),
    ("ArnLike", "arn:aws:iam::123456789012:user/*", ROLE_ARN, False),
    ("ArnLike", "arn:aws:iam:*:role/deployer", ROLE_ARN, False),
    ("ArnLike", "arn:aws:iam::123456789012:role/*", "not-an-arn", False),
    ("ArnNotEquals", ROLE_ARN, ROLE_ARN, False),
    ("ArnNotLike", "arn:aws:iam::123456789012:user/*", ROLE_ARN, True),
    ("ArnNotLike", "arn:aws:iam::123456789012:user/*", MISSING, True),
    ("ArnLike", "arn:aws:iam::123456789012:role/*", MISSING, False),
    ("ArnLike", "arn:aws:iam::*", ROLE_ARN, True),
    ("Bool", "true", True, True),
    ("Bool", "true", False, False),
    ("Bool", "false", "FALSE", True),
    ("Bool", "true", MISSING, False),
    ("NumericEquals", "7", "7.0", True),
    ("NumericNotEquals", "7", "8", True),
    ("NumericLessThan", "30", "7", True),
    ("NumericLessThan", "7", "7", False),
    ("NumericLessThanEquals", "7", "7", True),
    ("NumericGreaterThan", "7", "30", True),
    ("NumericGreaterThanEquals", "7", "6", False),
    ("NumericLessThan", "7", "seven", False),
    ("NumericLessThan", "7", MISSING, False),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", "2026-03-17T03:12:00Z", True),
    ("DateLessThan", "2026-01-01T00:00:00Z", "2026-03-17T03:12:00Z", False),
    ("DateLessThan", "2026-01-01", "1735689600", True),
    ("DateEquals", "1767225600", "2026-01-01T00:00:00Z", True),
    ("DateNotEquals", "1767225600", "2026-01-01T00:00:01Z", True),
    ("DateGreaterThanEquals", "2026-01-01T00:00:00Z", "not a date", False),
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", ["192.168.0.0/16", "10.0.0.0/8"], "10.1.2.3", True),
    ("IpAddress", "10.0.0.0/8", "11.1.2.3", False),
    ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
    ("IpAddress", "10.0.0.0/8", "2001:db8::1", False),
    ("IpAddress", "10.0.0.7", "10.0.0.7", True),
    ("IpAddress", "10.0.0.0/8", "localhost", False),
    ("NotIpAddress", "10.0.0.0/8", "11.1.2.3", True),
    ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
    ("NotIpAddress", "10.0.0.0/8", MISSING, True),
    ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
    ("StringEqualsIfExists", "prod", MISSING, True),
    ("StringEqualsIfExists", "prod", "dev", False),
    ("StringNotEqualsIfExists", "prod", "prod", False),
    ("NumericLessThanIfExists", "7", MISSING, True),
    ("ArnLikeIfExists", "arn:aws:iam::123456789012:role/*", ROLE_ARN, True),
    ("Null", "true", MISSING, True),
    ("Null", "true", "x", False),
    ("Null", "false", "x", True),
    ("Null", "false", MISSING, False),
    ("Null", "false", [], False),
    ("ForAnyValue:StringEquals", ["a", "b"], ["c", "b"], True),
    ("ForAnyValue:StringEquals", ["a", "b"], ["c", "d"], False),
    ("ForAnyValue:StringEquals", "a", MISSING, False),
    ("ForAnyValue:StringEquals", "a", [], False),
    ("ForAnyValue:StringNotEquals", ["a", "b"], ["a", "z"], True),
    ("ForAnyValue:StringNotEquals", ["a", "b"], ["a", "b"], False),
    ("ForAnyValue:StringLike", "team*", ["owner", "team-x"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], False),
    ("ForAllValues:StringEquals", "a", MISSING, True),
    ("ForAllValues:StringEquals", "a", [], True),
    ("ForAllValues:StringNotEquals", ["a", "b"], ["c", "d"], True),
    ("ForAllValues:StringNotEquals", ["a", "b"], ["c", "a"], False),
    ("ForAllValues:StringLikeIfExists", "team*", MISSING, True),
    ("ForAnyValue:StringEqualsIfExists", "a", MISSING, True),
    ("StringEquals", "b", ["a", "b"], True),
    ("StringNotEquals", "b", ["a", "b"], False),
    ("StringNotEquals", "c", ["a", "b"], True),
]


def _case_id(case: tuple[str, Any, Any, bool]) -> str:
    operator, policy, context, expected = case
    shown = "MISSING" if context is MISSING else context
    return f"{operator}-{policy}-{shown}-{expected}"


@pytest.mark.parametrize("operator,policy_values,context_value,expected", CASES,
                         ids=[_case_id(c) for c in CASES])
def test_operator(operator: str, policy_values: Any, context_value: Any, expected: bool) -> None:
    assert holds(operator, policy_values, context_value) is expected


def _request(context: dict[str, Any], principal: str = "arn:aws:iam::123456789012:user/alice",
             resource: str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:alice/x-AbCdEf"
             ) -> AuthzRequest:
    return AuthzRequest(principal, "123456789012", "secretsmanager:GetSecretValue", resource,
                        context)


def test_keys_under_one_operator_and_separate_operators_are_all_required() -> None:
    conditions = parse_conditions({
        "StringEquals": {"a:one": "1", "a:two": "2"},
        "Bool": {"aws:SecureTransport": "true"}})
    good = {"a:one": "1", "a:two": "2", "aws:SecureTransport": True}
    assert conditions_hold(conditions, _request(good).lookup, True)
    for key, wrong in (("a:one", "x"), ("a:two", "x"), ("aws:SecureTransport", False)):
        assert not conditions_hold(conditions, _request({**good, key: wrong}).lookup, True)


def test_condition_keys_are_case_insensitive() -> None:
    (condition,) = parse_conditions({"StringEquals": {"SecretsManager:ResourceTag/ENV": "prod"}})
    request = _request({"secretsmanager:resourcetag/env": "prod"})
    assert condition_holds(condition, request.lookup, True)


def test_principal_arn_and_account_default_from_the_caller() -> None:
    session = "arn:aws:sts::123456789012:assumed-role/deployer/ci-7"
    request = _request({}, principal=session)
    assert request.lookup("aws:PrincipalArn") == [ROLE_ARN]
    assert request.lookup("aws:PrincipalAccount") == ["123456789012"]
    assert _request({"aws:PrincipalArn": "given"}).lookup("aws:principalarn") == ["given"]


def _identity(statement: dict[str, Any], version: str = "2012-10-17") -> Any:
    return parse_policy({"Version": version, "Statement": [statement]}, PolicyKind.IDENTITY)


def test_policy_variable_in_resource_names_the_callers_own_secrets() -> None:
    policy = _identity({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                        "Resource": "arn:aws:secretsmanager:*:*:secret:${aws:username}/*"})
    assert evaluate(_request({"aws:username": "alice"}), [policy]).allowed
    assert not evaluate(_request({"aws:username": "bob"}), [policy]).allowed
    assert not evaluate(_request({}), [policy]).allowed


def test_policy_variables_are_literal_in_2008_documents() -> None:
    policy = _identity({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                        "Resource": "arn:aws:secretsmanager:*:*:secret:${aws:username}/*"},
                       version="2008-10-17")
    assert not evaluate(_request({"aws:username": "alice"}), [policy]).allowed
    literal = "arn:aws:secretsmanager:us-east-1:123456789012:secret:${aws:username}/x"
    assert evaluate(_request({"aws:username": "alice"}, resource=literal), [policy]).allowed


def test_policy_variable_default_and_escapes_in_conditions() -> None:
    policy = _identity({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*", "Condition": {
                            "StringEquals": {"secretsmanager:ResourceTag/owner":
                                             "${aws:username, 'nobody'}"},
                            "StringLike": {"secretsmanager:Name": "${*}literal${?}*"}}})
    name = {"secretsmanager:Name": "*literal?x"}
    assert evaluate(_request({**name, "aws:username": "alice",
                              "secretsmanager:ResourceTag/owner": "alice"}), [policy]).allowed
    assert evaluate(_request({**name, "secretsmanager:ResourceTag/owner": "nobody"}),
                    [policy]).allowed
    assert not evaluate(_request({"secretsmanager:Name": "xliteralyx",
                                  "secretsmanager:ResourceTag/owner": "nobody"}), [policy]).allowed
