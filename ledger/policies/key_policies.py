"""The key policies KMS writes when nobody supplies one, as documents the engine can evaluate.

`default_key_policy` is KMS's default for a customer managed key: it trusts the account, so IAM
identity policies decide. `managed_key_policy` is the shape of the AWS managed `aws/secretsmanager`
key's policy: any principal of the account, but only through Secrets Manager.
"""
from __future__ import annotations

from typing import Any

from ledger.policies.document import PolicyDocument, PolicyKind, parse_policy


def default_key_policy(account_id: str, *, name: str = "default key policy") -> PolicyDocument:
    return parse_policy(default_key_policy_json(account_id), PolicyKind.KEY, name=name)


def managed_key_policy(account_id: str, region: str, *,
                       name: str = "aws/secretsmanager") -> PolicyDocument:
    return parse_policy(managed_key_policy_json(account_id, region), PolicyKind.KEY, name=name)


def default_key_policy_json(account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }],
    }


def managed_key_policy_json(account_id: str, region: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "auto-secretsmanager-2",
        "Statement": [{
            "Sid": "Allow access through AWS Secrets Manager for all principals in the account "
                   "that are authorized to use AWS Secrets Manager",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant",
                       "kms:DescribeKey", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:CallerAccount": account_id,
                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
            }},
        }, {
            "Sid": "Allow direct access to key metadata to the account",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
            "Resource": "*",
        }],
    }
