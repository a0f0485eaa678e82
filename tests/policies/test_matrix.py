"""The authorization matrix: principals x actions x resources x policy shapes, one cell per row.

Each shape is an identity policy attached to every principal under test (like a group policy),
optionally with a resource policy on the secrets. Resources are named by full ARN, by partial ARN
with `*`, by `?` for the six-character suffix, by `*`, and by a partial ARN without a wildcard
(which matches nothing, as on AWS).
"""
from __future__ import annotations

from typing import Any

import pytest

from ledger.policies import evaluate
from tests.policies.support import ACCOUNT, SECRET_PREFIX, SECRETS, identity, request, resource

PROD = SECRETS["prod/db"][0]
SM = "secretsmanager"


def allow(action: Any, res: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": res, **extra}


def deny(action: Any, res: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": res, **extra}


SHAPES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]] | None]] = {
    "none": ([], None),
    "get-by-full-arn": ([allow(f"{SM}:GetSecretValue", PROD)], None),
    "get-by-partial-arn-star": ([allow(f"{SM}:GetSecretValue", SECRET_PREFIX + "prod/db-*")], None),
    "get-by-question-marks": ([allow(f"{SM}:GetSecretValue", SECRET_PREFIX + "prod/db-??????")],
                              None),
    "get-by-partial-arn-bare": ([allow(f"{SM}:GetSecretValue", SECRET_PREFIX + "prod/db")], None),
    "read-wildcards": ([allow([f"{SM}:Get*", f"{SM}:Describe*", f"{SM}:List*"])], None),
    "read-mixed-case-action": ([allow("SecretsManager:getsecret*")], None),
    "all-but-delete": ([allow(f"{SM}:*"), deny(f"{SM}:DeleteSecret")], None),
    "not-action": ([{"Effect": "Allow", "NotAction": [f"{SM}:DeleteSecret", f"{SM}:Put*"],
                     "Resource": "*"}], None),
    "not-resource": ([{"Effect": "Allow", "Action": f"{SM}:*",
                       "NotResource": SECRET_PREFIX + "prod/*"}], None),
    "deny-not-resource": ([allow("*"), {"Effect": "Deny", "Action": "*",
                                        "NotResource": SECRET_PREFIX + "dev/*"}], None),
    "tag-env-dev": ([allow(f"{SM}:*", Condition={
        "StringEquals": {f"{SM}:ResourceTag/env": "dev"}})], None),
    "tag-key-case": ([allow(f"{SM}:GetSecretValue", Condition={
        "StringEquals": {f"{SM}:ResourceTag/ENV": "prod"}})], None),
    "secret-id-like-dev": ([allow(f"{SM}:GetSecretValue", Condition={
        "StringLike": {f"{SM}:SecretId": ["dev/*", SECRET_PREFIX + "dev/*"]}})], None),
    "stage-current-only": ([allow(f"{SM}:GetSecretValue", Condition={
        "StringEquals": {f"{SM}:VersionStage": "AWSCURRENT"}})], None),
    "principal-arn-deployers": ([allow(f"{SM}:*", Condition={
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/deploy*"}})], None),
    "stage-current-if-exists": ([allow(f"{SM}:GetSecretValue", Condition={
        "StringEqualsIfExists": {f"{SM}:VersionStage": "AWSCURRENT"}})], None),
    "deny-stage-unless-current-if-exists": ([allow(f"{SM}:*"), deny(f"{SM}:GetSecretValue", Condition={
        "StringNotEqualsIfExists": {f"{SM}:VersionStage": "AWSCURRENT"}})], None),
    "deny-any-owner-tag-key": ([allow(f"{SM}:*"), deny(f"{SM}:TagResource", Condition={
        "ForAnyValue:StringEquals": {"aws:TagKeys": ["owner", "cost-center"]}})], None),
    "tag-keys-all-team": ([allow(f"{SM}:TagResource", Condition={
        "ForAllValues:StringLike": {"aws:TagKeys": "team*"}})], None),
    "resource-grants-bob": ([], [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::"
                                                                   f"{ACCOUNT}:user/bob"},
                                  "Action": f"{SM}:GetSecretValue", "Resource": "*"}]),
    "resource-grants-account": ([], [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                                      "Action": f"{SM}:GetSecretValue", "Resource": "*"}]),
    "resource-grants-role": ([], [{"Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{ACCOUNT}:role/deployer"}, "Action": f"{SM}:*", "Resource": "*"}]),
    "resource-denies-alice": ([allow(f"{SM}:*")], [{
        "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
        "Action": f"{SM}:GetSecretValue", "Resource": "*"}]),
    "resource-denies-account-but-role": ([allow(f"{SM}:*")], [{
        "Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": f"{SM}:*", "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/deployer"}}}]),
}

# (shape, principal, action, secret or None for `*`, request keywords, allowed?)
CELLS: list[tuple[str, str, str, str | None, dict[str, Any], bool]] = [
    ("none", "alice", "GetSecretValue", "prod/db", {}, False),
    ("none", "bob", "ListSecrets", None, {}, False),
    ("none", "root", "GetSecretValue", "prod/db", {}, True),
    ("none", "root", "DeleteSecret", "dev/app", {}, True),
    ("get-by-full-arn", "alice", "GetSecretValue", "prod/db", {}, True),
    ("get-by-full-arn", "alice", "GetSecretValue", "dev/app", {}, False),
    ("get-by-full-arn", "alice", "PutSecretValue", "prod/db", {}, False),
    ("get-by-full-arn", "deployer", "GetSecretValue", "prod/db", {}, True),
    ("get-by-partial-arn-star", "bob", "GetSecretValue", "prod/db", {}, True),
    ("get-by-partial-arn-star", "bob", "GetSecretValue", "dev/app", {}, False),
    ("get-by-partial-arn-star", "bob", "DescribeSecret", "prod/db", {}, False),
    ("get-by-question-marks", "alice", "GetSecretValue", "prod/db", {}, True),
    ("get-by-question-marks", "alice", "GetSecretValue", "dev/app", {}, False),
    ("get-by-partial-arn-bare", "alice", "GetSecretValue", "prod/db", {}, False),
    ("read-wildcards", "alice", "GetSecretValue", "prod/db", {}, True),
    ("read-wildcards", "alice", "DescribeSecret", "dev/app", {}, True),
    ("read-wildcards", "alice", "ListSecrets", None, {}, True),
    ("read-wildcards", "alice", "ListSecretVersionIds", "prod/db", {}, True),
    ("read-wildcards", "alice", "GetResourcePolicy", "prod/db", {}, True),
    ("read-wildcards", "alice", "PutSecretValue", "prod/db", {}, False),
    ("read-wildcards", "alice", "DeleteSecret", "prod/db", {}, False),
    ("read-mixed-case-action", "bob", "GetSecretValue", "dev/app", {}, True),
    ("read-mixed-case-action", "bob", "GetRandomPassword", None, {}, False),
    ("all-but-delete", "alice", "PutSecretValue", "prod/db", {}, True),
    ("all-but-delete", "alice", "DeleteSecret", "prod/db", {}, False),
    ("all-but-delete", "root", "DeleteSecret", "prod/db", {}, False),
    ("all-but-delete", "session", "UpdateSecret", "dev/app", {}, True),
    ("not-action", "alice", "GetSecretValue", "prod/db", {}, True),
    ("not-action", "alice", "DeleteSecret", "prod/db", {}, False),
    ("not-action", "alice", "PutSecretValue", "dev/app", {}, False),
    ("not-action", "alice", "ListSecrets", None, {}, True),
    ("not-resource", "bob", "GetSecretValue", "dev/app", {}, True),
    ("not-resource", "bob", "GetSecretValue", "prod/db", {}, False),
    ("not-resource", "bob", "ListSecrets", None, {}, True),
    ("deny-not-resource", "alice", "GetSecretValue", "dev/app", {}, True),
    ("deny-not-resource", "alice", "GetSecretValue", "prod/db", {}, False),
    ("deny-not-resource", "alice", "ListSecrets", None, {}, False),
    ("tag-env-dev", "alice", "GetSecretValue", "dev/app", {}, True),
    ("tag-env-dev", "alice", "UpdateSecret", "dev/app", {}, True),
    ("tag-env-dev", "alice", "GetSecretValue", "prod/db", {}, False),
    ("tag-env-dev", "alice", "ListSecrets", None, {}, False),
    ("tag-key-case", "bob", "GetSecretValue", "prod/db", {}, True),
    ("tag-key-case", "bob", "GetSecretValue", "dev/app", {}, False),
    ("secret-id-like-dev", "alice", "GetSecretValue", "dev/app", {}, True),
    ("secret-id-like-dev", "alice", "GetSecretValue", "dev/app",
     {"secret_id": SECRETS["dev/app"][0]}, True),
    ("secret-id-like-dev", "alice", "GetSecretValue", "prod/db", {}, False),
    ("secret-id-like-dev", "alice", "GetSecretValue", "prod/db",
     {"secret_id": SECRET_PREFIX + "prod/db"}, False),
    ("stage-current-only", "bob", "GetSecretValue", "prod/db", {"stage": "AWSCURRENT"}, True),
    ("stage-current-only", "bob", "GetSecretValue", "prod/db", {"stage": "AWSPREVIOUS"}, False),
    ("stage-current-only", "bob", "GetSecretValue", "prod/db", {}, False),
    ("principal-arn-deployers", "deployer", "PutSecretValue", "prod/db", {}, True),
    ("principal-arn-deployers", "session", "PutSecretValue", "prod/db", {}, True),
    ("principal-arn-deployers", "alice", "GetSecretValue", "prod/db", {}, False),
    ("principal-arn-deployers", "bob", "ListSecrets", None, {}, False),
    ("stage-current-if-exists", "bob", "GetSecretValue", "prod/db", {}, True),
    ("stage-current-if-exists", "bob", "GetSecretValue", "prod/db", {"stage": "AWSCURRENT"}, True),
    ("stage-current-if-exists", "bob", "GetSecretValue", "prod/db", {"stage": "AWSPENDING"}, False),
    ("deny-stage-unless-current-if-exists", "alice", "GetSecretValue", "prod/db", {}, False),
    ("deny-stage-unless-current-if-exists", "alice", "GetSecretValue", "prod/db",
     {"stage": "AWSCURRENT"}, True),
    ("deny-stage-unless-current-if-exists", "alice", "GetSecretValue", "prod/db",
     {"stage": "AWSPREVIOUS"}, False),
    ("deny-stage-unless-current-if-exists", "alice", "DescribeSecret", "prod/db",
     {"stage": "AWSPREVIOUS"}, True),
    ("deny-any-owner-tag-key", "bob", "TagResource", "dev/app",
     {"extra": {"aws:TagKeys": ["team", "owner"]}}, False),
    ("deny-any-owner-tag-key", "bob", "TagResource", "dev/app",
     {"extra": {"aws:TagKeys": ["team", "tier"]}}, True),
    ("deny-any-owner-tag-key", "bob", "TagResource", "dev/app", {}, True),
    ("tag-keys-all-team", "alice", "TagResource", "prod/db",
     {"extra": {"aws:TagKeys": ["team", "team-lead"]}}, True),
    ("tag-keys-all-team", "alice", "TagResource", "prod/db",
     {"extra": {"aws:TagKeys": ["team", "owner"]}}, False),
    ("tag-keys-all-team", "alice", "TagResource", "prod/db", {}, True),
    ("resource-grants-bob", "bob", "GetSecretValue", "prod/db", {}, True),
    ("resource-grants-bob", "bob", "PutSecretValue", "prod/db", {}, False),
    ("resource-grants-bob", "alice", "GetSecretValue", "prod/db", {}, False),
    ("resource-grants-account", "alice", "GetSecretValue", "prod/db", {}, False),
    ("resource-grants-account", "root", "GetSecretValue", "prod/db", {}, True),
    ("resource-grants-role", "deployer", "DeleteSecret", "dev/app", {}, True),
    ("resource-grants-role", "session", "GetSecretValue", "dev/app", {}, True),
    ("resource-grants-role", "bob", "GetSecretValue", "dev/app", {}, False),
    ("resource-grants-role", "outsider", "GetSecretValue", "dev/app", {}, False),
    ("resource-denies-alice", "alice", "GetSecretValue", "prod/db", {}, False),
    ("resource-denies-alice", "alice", "DescribeSecret", "prod/db", {}, True),
    ("resource-denies-alice", "bob", "GetSecretValue", "prod/db", {}, True),
    ("resource-denies-account-but-role", "alice", "DescribeSecret", "prod/db", {}, False),
    ("resource-denies-account-but-role", "root", "DescribeSecret", "prod/db", {}, False),
    ("resource-denies-account-but-role", "deployer", "DescribeSecret", "prod/db", {}, True),
    ("resource-denies-account-but-role", "session", "DescribeSecret", "prod/db", {}, True),
]


def _cell_id(cell: tuple[str, str, str, str | None, dict[str, Any], bool]) -> str:
    shape, principal, action, secret, kwargs, allowed = cell
    extra = "-".join(f"{k}={v}" for k, v in kwargs.items()) if kwargs else ""
    verdict = "allow" if allowed else "deny"
    return f"{shape}:{principal}:{action}:{secret or '*'}{':' + extra if extra else ''}:{verdict}"


@pytest.mark.parametrize("cell", CELLS, ids=[_cell_id(c) for c in CELLS])
def test_matrix_cell(cell: tuple[str, str, str, str | None, dict[str, Any], bool]) -> None:
    shape, principal, action, secret, kwargs, allowed = cell
    statements, resource_statements = SHAPES[shape]
    policies = [identity(*statements)] if statements else []
    secret_policy = resource(*resource_statements) if resource_statements else None
    decision = evaluate(request(principal, action, secret, **kwargs), policies, secret_policy)
    assert decision.allowed is allowed, decision


def test_every_shape_is_exercised_by_the_matrix() -> None:
    assert {cell[0] for cell in CELLS} == set(SHAPES)


def test_every_shape_but_the_bare_partial_arn_has_allowed_and_denied_cells() -> None:
    outcomes: dict[str, set[bool]] = {}
    for shape, *_, allowed in CELLS:
        outcomes.setdefault(shape, set()).add(allowed)
    assert outcomes.pop("get-by-partial-arn-bare") == {False}
    assert [s for s, seen in outcomes.items() if seen != {True, False}] == []
