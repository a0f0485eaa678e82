"""Operation -> IAM action map, target resources, KMS uses, and the AccessDenied message shape."""
from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from ledger.policies import (KeyUse, Permission, access_denied_message, batch_member_permission,
                             iam_action, key_uses, required_permissions, resource_for)
from ledger.policies.actions import ENCRYPTING, OPERATIONS, STORED

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
BOB = "arn:aws:iam::123456789012:user/bob"


def test_every_operation_in_the_service_model_has_an_action() -> None:
    model = botocore.session.get_session().get_service_model("secretsmanager")
    assert set(OPERATIONS) == set(model.operation_names)
    assert iam_action("GetSecretValue") == "secretsmanager:GetSecretValue"
    with pytest.raises(KeyError):
        iam_action("GetSecretValues")


@pytest.mark.parametrize("operation,expected", [
    ("ListSecrets", "*"), ("GetRandomPassword", "*"), ("BatchGetSecretValue", "*"),
    ("GetSecretValue", ARN), ("CreateSecret", ARN), ("PutResourcePolicy", ARN),
    ("ListResourcePolicies", ARN), ("TagResource", ARN),
])
def test_resource_each_operation_is_checked_against(operation: str, expected: str) -> None:
    assert resource_for(operation, ARN) == expected


def test_validate_resource_policy_without_a_secret_is_checked_against_star() -> None:
    assert required_permissions("ValidateResourcePolicy", {"ResourcePolicy": "{}"}, None) == (
        Permission("secretsmanager:ValidateResourcePolicy", "*"),
        Permission("secretsmanager:PutResourcePolicy", "*"))


@pytest.mark.parametrize("operation,request_body,expected", [
    ("GetSecretValue", {"SecretId": "prod/db"}, [("GetSecretValue", ARN)]),
    ("CreateSecret", {"Name": "prod/db", "Tags": [{"Key": "a", "Value": "b"}]},
     [("CreateSecret", ARN), ("TagResource", ARN)]),
    ("CreateSecret", {"Name": "prod/db", "AddReplicaRegions": [{"Region": "eu-west-1"}]},
     [("CreateSecret", ARN), ("ReplicateSecretToRegions", ARN)]),
    ("ValidateResourcePolicy", {"SecretId": "prod/db"},
     [("ValidateResourcePolicy", ARN), ("PutResourcePolicy", ARN)]),
    ("BatchGetSecretValue", {"SecretIdList": ["prod/db"]}, [("BatchGetSecretValue", "*")]),
    ("BatchGetSecretValue", {"Filters": [{"Key": "name", "Values": ["prod"]}]},
     [("BatchGetSecretValue", "*"), ("ListSecrets", "*")]),
])
def test_required_permissions(operation: str, request_body: dict[str, Any],
                              expected: list[tuple[str, str]]) -> None:
    assert required_permissions(operation, request_body, ARN) == tuple(
        Permission(f"secretsmanager:{action}", res) for action, res in expected)


def test_batch_checks_get_secret_value_per_secret() -> None:
    assert batch_member_permission(ARN) == Permission("secretsmanager:GetSecretValue", ARN)


GDK, DEC, ENC = "kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"


@pytest.mark.parametrize("operation,request_body,expected", [
    ("GetSecretValue", {}, [KeyUse(DEC, STORED)]),
    ("BatchGetSecretValue", {}, [KeyUse(DEC, STORED)]),
    ("CreateSecret", {"SecretString": "x"}, [KeyUse(GDK, ENCRYPTING), KeyUse(DEC, ENCRYPTING)]),
    ("CreateSecret", {"Name": "n"}, []),
    ("CreateSecret", {"KmsKeyId": "alias/app"}, [KeyUse(GDK, ENCRYPTING), KeyUse(DEC, ENCRYPTING)]),
    ("PutSecretValue", {"SecretBinary": b"x"}, [KeyUse(GDK, ENCRYPTING), KeyUse(DEC, ENCRYPTING)]),
    ("UpdateSecret", {"Description": "d"}, []),
    ("UpdateSecret", {"SecretString": "x"}, [KeyUse(GDK, ENCRYPTING), KeyUse(DEC, ENCRYPTING)]),
    ("UpdateSecret", {"KmsKeyId": "alias/new"},
     [KeyUse(GDK, ENCRYPTING), KeyUse(DEC, ENCRYPTING), KeyUse(ENC, ENCRYPTING, required=False),
      KeyUse(DEC, STORED, required=False)]),
    ("DescribeSecret", {}, []),
    ("RotateSecret", {}, []),
])
def test_kms_uses_per_operation(operation: str, request_body: dict[str, Any],
                                expected: list[KeyUse]) -> None:
    assert key_uses(operation, request_body) == tuple(expected)


def test_implicit_deny_message_has_aws_shape() -> None:
    assert access_denied_message(BOB, "secretsmanager:GetSecretValue", ARN, explicit=False) == (
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
        "secretsmanager:GetSecretValue on resource: "
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf "
        "because no identity-based policy allows the secretsmanager:GetSecretValue action")


def test_explicit_deny_message_has_aws_shape() -> None:
    assert access_denied_message(BOB, "secretsmanager:DeleteSecret", ARN, explicit=True) == (
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
        "secretsmanager:DeleteSecret on resource: "
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf "
        "with an explicit deny in an identity-based policy")


def test_resource_based_messages() -> None:
    assert access_denied_message(BOB, "kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k", False,
                                 "resource-based").endswith(
        "on resource: arn:aws:kms:us-east-1:1:key/k because no resource-based policy allows the "
        "kms:Decrypt action")
    assert access_denied_message(BOB, "secretsmanager:GetSecretValue", ARN, True,
                                 "resource-based").endswith(
        "with an explicit deny in a resource-based policy")


def test_account_wide_actions_leave_out_the_resource_clause() -> None:
    assert access_denied_message(BOB, "secretsmanager:ListSecrets", "*", explicit=False) == (
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
        "secretsmanager:ListSecrets because no identity-based policy allows the "
        "secretsmanager:ListSecrets action")
