"""Principals, secrets and document builders shared by the policy tests."""
from __future__ import annotations

from typing import Any

from ledger.policies import (AuthzRequest, PolicyDocument, PolicyKind, parse_policy,
                             principal_context, secret_context)

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
SECRET_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"

PRINCIPALS = {
    "alice": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "bob": f"arn:aws:iam::{ACCOUNT}:user/bob",
    "deployer": f"arn:aws:iam::{ACCOUNT}:role/deployer",
    "session": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-run-7",
    "root": f"arn:aws:iam::{ACCOUNT}:root",
    "outsider": f"arn:aws:iam::{OTHER_ACCOUNT}:user/mallory",
}

SECRETS = {
    "prod/db": (SECRET_PREFIX + "prod/db-AbCdEf", {"env": "prod", "team": "data"}),
    "dev/app": (SECRET_PREFIX + "dev/app-XyZ123", {"env": "dev"}),
}


def identity(*statements: dict[str, Any], name: str = "inline") -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)},
                        PolicyKind.IDENTITY, name=name)


def resource(*statements: dict[str, Any]) -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)},
                        PolicyKind.RESOURCE, name="resource policy")


def request(principal: str, action: str, secret: str | None = None, *,
            secret_id: str | None = None, stage: str | None = None,
            extra: dict[str, Any] | None = None) -> AuthzRequest:
    """A request by a named principal on a named secret (None: an account-wide action)."""
    arn = PRINCIPALS.get(principal, principal)
    context: dict[str, Any] = dict(principal_context(arn, principal_type="IAMUser"
                                                     if ":user/" in arn else "", source_ip="10.0.0.5",
                                                     secure_transport=True))
    if secret is None:
        target = "*"
    else:
        target, tags = SECRETS[secret]
        context.update(secret_context(secret_id=secret_id or secret, name=secret, tags=tags,
                                      version_stage=stage))
    context.update(extra or {})
    return AuthzRequest(arn, ACCOUNT, f"secretsmanager:{action}", target, context)
