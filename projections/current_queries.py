"""Reading the current-state view: one secret by name or ARN, every live secret, the default key.

Resolution follows `SecretsLedger.find_secret` exactly (the same `parse_secret_id`, the same
candidate names, the same `accepts` rule), with the view standing in for the name index: a name
belongs to the one secret holding it that is not finally deleted.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteCursor

from ledger.errors import SECRET_NOT_FOUND, ResourceNotFoundException
from ledger.keys.kms_key import DEFAULT_ALIAS
from ledger.names import parse_secret_id
from projections.secret_view import (
    DeletionView, SealedRef, SecretView, VersionView, from_micros, to_time,
)

_SECRET_COLUMNS = ("secret_id, name, arn, description, kms_key_id, owning_service, has_tags, "
                   "created_at, last_changed_at, last_accessed, deletion_requested_at, "
                   "deletion_after, deletion_forced, deleted")


def find_secret(cursor: SQLiteCursor, secret_id: str) -> SecretView:
    """Name, full ARN or partial ARN -> the live secret; ResourceNotFoundException otherwise."""
    ref = parse_secret_id(secret_id)
    for name in ref.candidate_names:
        cursor.execute(f"SELECT {_SECRET_COLUMNS} FROM cs_secrets WHERE name = ? AND deleted = 0",
                       (name,))
        row = cursor.fetchone()
        if row is not None and ref.accepts(row["name"], row["arn"]):
            return _load(cursor, [row])[0]
    raise ResourceNotFoundException(SECRET_NOT_FOUND)


def live_secrets(cursor: SQLiteCursor) -> list[SecretView]:
    """Every secret not finally deleted, in creation order (as the log lists them)."""
    cursor.execute(f"SELECT {_SECRET_COLUMNS} FROM cs_secrets WHERE deleted = 0 "
                   "ORDER BY position")
    return _load(cursor, cursor.fetchall())


def default_key_arn(cursor: SQLiteCursor) -> str | None:
    cursor.execute("SELECT k.arn FROM cs_kms_aliases a JOIN cs_kms_keys k ON k.key_id = a.key_id "
                   "WHERE a.alias = ?", (DEFAULT_ALIAS,))
    row = cursor.fetchone()
    return row[0] if row else None


def _load(cursor: SQLiteCursor, rows: list[Any]) -> list[SecretView]:
    if not rows:
        return []
    ids = [row["secret_id"] for row in rows]
    versions, labels, tags = _children(cursor, ids)
    return [_secret(row, versions[row["secret_id"]], labels[row["secret_id"]],
                    tags[row["secret_id"]]) for row in rows]


def _children(cursor: SQLiteCursor, ids: list[str]) -> tuple[dict, dict, dict]:
    versions: dict[str, dict[str, VersionView]] = defaultdict(dict)
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    one = len(ids) == 1
    where, params = ("WHERE secret_id = ?", ids) if one else ("", [])
    wanted = set(ids)
    cursor.execute("SELECT secret_id, version_id, created_at, value_type, fingerprint, key_arn, "
                   f"last_accessed FROM cs_versions {where} ORDER BY seq", params)
    for r in cursor.fetchall():
        if one or r[0] in wanted:
            versions[r[0]][r[1]] = VersionView(r[1], to_time(r[2]), SealedRef(r[3], r[4], r[5]),
                                               from_micros(r[6]))
    cursor.execute(f"SELECT secret_id, label, version_id FROM cs_labels {where} ORDER BY seq",
                   params)
    for r in cursor.fetchall():
        if one or r[0] in wanted:
            labels[r[0]][r[1]] = r[2]
    cursor.execute(f"SELECT secret_id, key, value FROM cs_tags {where} ORDER BY seq", params)
    for r in cursor.fetchall():
        if one or r[0] in wanted:
            tags[r[0]][r[1]] = r[2]
    return versions, labels, tags


def _secret(row: Any, versions: dict[str, VersionView], labels: dict[str, str],
            tags: dict[str, str]) -> SecretView:
    deletion = None
    if row["deletion_requested_at"] is not None:
        deletion = DeletionView(to_time(row["deletion_requested_at"]),
                                to_time(row["deletion_after"]), bool(row["deletion_forced"]))
    return SecretView(
        id=UUID(row["secret_id"]), name=row["name"], arn=row["arn"],
        description=row["description"], kms_key_id=row["kms_key_id"],
        owning_service=row["owning_service"], created_on=to_time(row["created_at"]),
        last_changed_at=to_time(row["last_changed_at"]),
        last_accessed=from_micros(row["last_accessed"]),
        tags=tags if row["has_tags"] else None, versions=versions, labels=labels,
        deletion=deletion, deleted=bool(row["deleted"]))
