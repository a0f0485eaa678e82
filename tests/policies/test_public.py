"""BlockPublicPolicy detection and the ValidateResourcePolicy findings."""
from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from ledger.errors import MalformedPolicyDocumentException, PublicPolicyException
from ledger.policies import (check_not_public, is_public, validate_resource_policy,
                             validation_response)
from ledger.policies.public import BROAD_ACCESS_CHECK, LOCKOUT_CHECK
from tests.policies.support import ACCOUNT, OTHER_ACCOUNT, PRINCIPALS, request, resource

GET = "secretsmanager:GetSecretValue"


def stmt(principal: Any = None, effect: str = "Allow", condition: Any = None,
         not_principal: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": effect, "Action": GET, "Resource": "*"}
    if not_principal is not None:
        body["NotPrincipal"] = not_principal
    else:
        body["Principal"] = principal
    if condition:
        body["Condition"] = condition
    return body


ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
FOREIGN_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/app"

CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("star", stmt("*"), True),
    ("aws-star", stmt({"AWS": "*"}), True),
    ("aws-star-in-list", stmt({"AWS": [ROLE, "*"]}), True),
    ("own-role", stmt({"AWS": ROLE}), False),
    ("own-account-id", stmt({"AWS": ACCOUNT}), False),
    ("own-account-root", stmt({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), False),
    ("other-account", stmt({"AWS": OTHER_ACCOUNT}), True),
    ("other-account-role", stmt({"AWS": FOREIGN_ROLE}), True),
    ("service", stmt({"Service": "lambda.amazonaws.com"}), False),
    ("deny-star", stmt("*", effect="Deny"), False),
    ("allow-not-principal", stmt(not_principal={"AWS": ROLE}), True),
    ("star-pinned-principal-account", stmt("*", condition={
        "StringEquals": {"aws:PrincipalAccount": ACCOUNT}}), False),
    ("star-pinned-source-account", stmt("*", condition={
        "StringEquals": {"aws:SourceAccount": ACCOUNT}}), False),
    ("star-principal-account-other", stmt("*", condition={
        "StringEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}), True),
    ("star-principal-account-two", stmt("*", condition={
        "StringEquals": {"aws:PrincipalAccount": [ACCOUNT, OTHER_ACCOUNT]}}), True),
    ("star-pinned-principal-arn", stmt({"AWS": "*"}, condition={
        "ArnEquals": {"aws:PrincipalArn": ROLE}}), False),
    ("star-pinned-own-account-arn-pattern", stmt("*", condition={
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"}}), False),
    ("star-any-account-arn-pattern", stmt("*", condition={
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app"}}), True),
    ("star-pinned-specific-foreign-arn", stmt("*", condition={
        "StringEquals": {"aws:PrincipalArn": FOREIGN_ROLE}}), False),
    ("star-pinned-org", stmt("*", condition={
        "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}), False),
    ("star-org-wildcard", stmt("*", condition={
        "StringLike": {"aws:PrincipalOrgID": "o-*"}}), True),
    ("star-if-exists-does-not-pin", stmt("*", condition={
        "StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}), True),
    ("star-for-all-values-does-not-pin", stmt("*", condition={
        "ForAllValues:StringEquals": {"aws:PrincipalAccount": ACCOUNT}}), True),
    ("star-negated-does-not-pin", stmt("*", condition={
        "StringNotEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}), True),
    ("star-unrelated-condition", stmt("*", condition={
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), True),
    ("other-account-pinned-to-role", stmt({"AWS": OTHER_ACCOUNT}, condition={
        "ArnEquals": {"aws:PrincipalArn": FOREIGN_ROLE}}), False),
]


@pytest.mark.parametrize("statement,public", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_public_policy_detection(statement: dict[str, Any], public: bool) -> None:
    assert is_public(resource(statement), ACCOUNT) is public


def test_one_public_statement_makes_the_policy_public() -> None:
    assert is_public(resource(stmt({"AWS": ROLE}), stmt("*")), ACCOUNT)


def test_block_public_policy_raises_public_policy_exception() -> None:
    with pytest.raises(PublicPolicyException) as raised:
        check_not_public(resource(stmt("*")), ACCOUNT)
    assert raised.value.code == "PublicPolicyException"
    check_not_public(resource(stmt({"AWS": ROLE})), ACCOUNT)


def _text(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_validation_passes_for_an_account_scoped_policy() -> None:
    errors = validate_resource_policy(_text(stmt({"AWS": ROLE})), ACCOUNT)
    assert validation_response(errors) == {"PolicyValidationPassed": True, "ValidationErrors": []}


def test_validation_reports_each_broad_statement() -> None:
    errors = validate_resource_policy(_text(stmt({"AWS": ROLE}), {**stmt("*"), "Sid": "Open"}),
                                      ACCOUNT)
    assert [e["CheckName"] for e in errors] == [BROAD_ACCESS_CHECK]
    assert "statement 2 (Open)" in errors[0]["ErrorMessage"]
    assert validation_response(errors)["PolicyValidationPassed"] is False


def test_validation_response_has_the_service_model_shape() -> None:
    model = botocore.session.get_session().get_service_model("secretsmanager")
    output = model.operation_model("ValidateResourcePolicy").output_shape
    errors = validate_resource_policy(_text(stmt("*")), ACCOUNT)
    response = validation_response(errors)
    assert set(response) == set(output.members)
    entry = output.members["ValidationErrors"].member
    assert all(set(e) == set(entry.members) for e in response["ValidationErrors"])


def test_validation_of_malformed_policy_raises() -> None:
    with pytest.raises(MalformedPolicyDocumentException):
        validate_resource_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}',
                                 ACCOUNT)


def test_validation_reports_a_policy_that_locks_the_caller_out() -> None:
    lockout = {"Effect": "Deny", "Principal": {"AWS": PRINCIPALS["alice"]},
               "Action": "secretsmanager:*Policy", "Resource": "*"}
    caller = request("alice", "ValidateResourcePolicy", "prod/db")
    errors = validate_resource_policy(_text(stmt({"AWS": ROLE}), lockout), ACCOUNT, caller)
    assert [e["CheckName"] for e in errors] == [LOCKOUT_CHECK, LOCKOUT_CHECK]
    assert "secretsmanager:PutResourcePolicy" in errors[0]["ErrorMessage"]
    assert validate_resource_policy(_text(lockout), ACCOUNT,
                                    request("bob", "ValidateResourcePolicy", "prod/db")) == []
