"""Builders for the request context: the condition keys IAM would put on a Secrets Manager call.

Kept here so every entry point (embedded API, HTTP server, batch and list filtering) fills the
same keys with the same spelling. Keys follow the Service Authorization Reference for Secrets
Manager and the IAM global condition keys.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from ledger.policies.evaluate import ContextValue
from ledger.policies.matching import account_of, role_of_session


IAM_PRINCIPAL_TYPES = {"Root": "Account", "IAMUser": "User", "Role": "AssumedRole"}
"""The ledger's principal types (CloudTrail's userIdentity names) as `aws:PrincipalType` spells
them (IAM global condition keys: Account, User, FederatedUser, AssumedRole, Anonymous). A role
acts only through a session, hence AssumedRole."""


def principal_context(principal_arn: str, *, user_id: str = "", principal_type: str = "",
                      source_ip: str | None = None, secure_transport: bool | None = None,
                      user_agent: str | None = None, now: datetime | None = None,
                      via_service: str | None = None) -> dict[str, ContextValue]:
    """`aws:*` keys describing the caller and the connection."""
    keys: dict[str, ContextValue] = {"aws:PrincipalArn": role_of_session(principal_arn)
                                     or principal_arn}
    account = account_of(principal_arn)
    if account:
        keys["aws:PrincipalAccount"] = account
    if principal_type:
        keys["aws:PrincipalType"] = IAM_PRINCIPAL_TYPES.get(principal_type, principal_type)
    if user_id:
        keys["aws:userid"] = user_id
    if principal_type == "IAMUser" and "/" in principal_arn:
        keys["aws:username"] = principal_arn.rsplit("/", 1)[-1]
    if source_ip:
        keys["aws:SourceIp"] = source_ip
    if secure_transport is not None:
        keys["aws:SecureTransport"] = secure_transport
    if user_agent:
        keys["aws:UserAgent"] = user_agent
    if now is not None:
        moment = now.astimezone(timezone.utc)
        keys["aws:CurrentTime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        keys["aws:EpochTime"] = str(int(moment.timestamp()))
    if via_service:  # a KMS call made by a service on the caller's behalf
        keys["kms:ViaService"] = via_service
        if account:
            keys["kms:CallerAccount"] = account
    return keys


def secret_context(*, secret_id: str | None = None, name: str | None = None,
                   tags: Mapping[str, str] | None = None, version_stage: str | None = None,
                   version_id: str | None = None, description: str | None = None,
                   kms_key_id: str | None = None, request_tags: Mapping[str, str] | None = None,
                   ) -> dict[str, ContextValue]:
    """`secretsmanager:*` and tag keys for a call on one secret.

    `secret_id` is the SecretId as the caller sent it (name, ARN or partial ARN); `tags` are the
    secret's current tags (`secretsmanager:ResourceTag/<key>` and `aws:ResourceTag/<key>`);
    `request_tags` are tags the request sets (`aws:RequestTag/<key>` and `aws:TagKeys`).
    """
    keys: dict[str, ContextValue] = {}
    if secret_id is not None:
        keys["secretsmanager:SecretId"] = secret_id
    if name is not None:
        keys["secretsmanager:Name"] = name
    if version_stage is not None:
        keys["secretsmanager:VersionStage"] = version_stage
    if version_id is not None:
        keys["secretsmanager:VersionId"] = version_id
    if description is not None:
        keys["secretsmanager:Description"] = description
    if kms_key_id is not None:
        keys["secretsmanager:KmsKeyId"] = kms_key_id
    for key, value in (tags or {}).items():
        keys[f"secretsmanager:ResourceTag/{key}"] = value
        keys[f"aws:ResourceTag/{key}"] = value
    if request_tags is not None:
        for key, value in request_tags.items():
            keys[f"aws:RequestTag/{key}"] = value
        keys["aws:TagKeys"] = list(request_tags)
    return keys
