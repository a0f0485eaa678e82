"""Render aggregates as AWS response shapes: PascalCase, epoch seconds, absent when empty."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.secret import Secret, Version

DEFAULT_KEY_NAME = "DefaultEncryptionKey"


def epoch(moment: datetime) -> float:
    return round(moment.timestamp(), 3)


def _versions_to_stages(secret: Secret) -> dict[str, list[str]]:
    stages: dict[str, list[str]] = {}
    for label, version_id in secret.labels.items():
        stages.setdefault(version_id, []).append(label)
    return stages


def secret_entry(secret: Secret, versions_key: str = "VersionIdsToStages") -> dict[str, Any]:
    """DescribeSecret; ListSecrets uses the same entry with `SecretVersionsToStages`."""
    entry: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    if secret.description is not None:
        entry["Description"] = secret.description
    if secret.kms_key_id:
        entry["KmsKeyId"] = secret.kms_key_id
    entry["LastChangedDate"] = epoch(secret.last_changed_at)
    if secret.last_accessed is not None:
        entry["LastAccessedDate"] = epoch(secret.last_accessed)
    if secret.deletion is not None:
        entry["DeletedDate"] = epoch(secret.deletion.requested_at)
    if secret.tags is not None:
        entry["Tags"] = [{"Key": k, "Value": v} for k, v in secret.tags.items()]
    stages = _versions_to_stages(secret)
    if stages:
        entry[versions_key] = stages
    if secret.owning_service:
        entry["OwningService"] = secret.owning_service
    entry["CreatedDate"] = epoch(secret.created_on)
    return entry


def version_entry(secret: Secret, version: Version, default_key_arn: str | None) -> dict[str, Any]:
    """One ListSecretVersionIds entry; the AWS managed key shows as DefaultEncryptionKey."""
    entry: dict[str, Any] = {"VersionId": version.version_id}
    stages = secret.stages_of(version.version_id)
    if stages:
        entry["VersionStages"] = stages
    if version.last_accessed is not None:
        entry["LastAccessedDate"] = epoch(version.last_accessed)
    entry["CreatedDate"] = epoch(version.created_at)
    key_arn = version.sealed.key_arn
    entry["KmsKeyIds"] = [DEFAULT_KEY_NAME if key_arn == default_key_arn else key_arn]
    return entry
