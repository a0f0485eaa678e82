"""The request-context builders fill the keys policies are written against."""
from __future__ import annotations

from datetime import datetime, timezone

from ledger.policies import principal_context, secret_context


def test_principal_context_for_an_iam_user_over_tls() -> None:
    keys = principal_context("arn:aws:iam::123456789012:user/ops/alice", user_id="AIDAALICE",
                             principal_type="IAMUser", source_ip="10.0.0.5",
                             secure_transport=True,
                             now=datetime(2026, 3, 17, 3, 12, 5, tzinfo=timezone.utc))
    assert keys == {
        "aws:PrincipalArn": "arn:aws:iam::123456789012:user/ops/alice",
        "aws:PrincipalAccount": "123456789012", "aws:PrincipalType": "User",
        "aws:userid": "AIDAALICE", "aws:username": "alice", "aws:SourceIp": "10.0.0.5",
        "aws:SecureTransport": True, "aws:CurrentTime": "2026-03-17T03:12:05Z",
        "aws:EpochTime": "1773717125"}


def test_role_session_is_known_by_its_role_and_kms_calls_carry_the_service() -> None:
    keys = principal_context("arn:aws:sts::123456789012:assumed-role/app/s1",
                             via_service="secretsmanager.us-east-1.amazonaws.com")
    assert keys["aws:PrincipalArn"] == "arn:aws:iam::123456789012:role/app"
    assert "aws:username" not in keys
    assert keys["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    assert keys["kms:CallerAccount"] == "123456789012"


def test_secret_context_exposes_tags_under_both_prefixes_and_request_tags() -> None:
    keys = secret_context(secret_id="prod/db", name="prod/db", tags={"env": "prod"},
                          version_stage="AWSCURRENT", request_tags={"team": "a", "tier": "b"})
    assert keys == {
        "secretsmanager:SecretId": "prod/db", "secretsmanager:Name": "prod/db",
        "secretsmanager:VersionStage": "AWSCURRENT",
        "secretsmanager:ResourceTag/env": "prod", "aws:ResourceTag/env": "prod",
        "aws:RequestTag/team": "a", "aws:RequestTag/tier": "b", "aws:TagKeys": ["team", "tier"]}
    assert secret_context() == {}
