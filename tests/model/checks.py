"""Invariants of one secret that hold after every call, checked on the live aggregate and on
the same secret rebuilt from its events."""
from __future__ import annotations

from typing import Any

from ledger.application import SecretsLedger
from ledger.events import LabelMoved
from ledger.labels import CURRENT
from ledger.secret import Limits, Secret


def state_of(secret: Secret) -> dict[str, Any]:
    """Everything a Secret aggregate holds, in comparable form."""
    deletion = secret.deletion
    return {
        "id": secret.id, "version": secret.version, "name": secret.name, "arn": secret.arn,
        "description": secret.description, "kms_key_id": secret.kms_key_id,
        "tags": secret.tags, "labels": dict(secret.labels),
        "versions": {vid: (v.created_at, v.sealed, v.last_accessed)
                     for vid, v in secret.versions.items()},
        "deletion": None if deletion is None else (deletion.requested_at, deletion.delete_after),
        "deleted": secret.deleted, "last_changed_at": secret.last_changed_at,
        "last_accessed": secret.last_accessed,
    }


def rebuilt_from_log(ledger: SecretsLedger, secret: Secret) -> Secret:
    """Replay the secret's stored events from scratch, bypassing every cache, and check that
    each recorded label move starts where the label actually was."""
    aggregate: Any = None
    for event in ledger.events.get(secret.id):
        if isinstance(event, LabelMoved):
            holder = aggregate.labels.get(event.label)
            assert holder == event.from_version, (
                f"LabelMoved {event.label} records from {event.from_version}, but it was on "
                f"{holder}")
        aggregate = event.mutate(aggregate)
    assert aggregate is not None
    return aggregate


def check_secret_invariants(secret: Secret, limits: Limits) -> None:
    """§3 and the Decisions table, independent of any model."""
    name = secret.name
    if secret.versions:
        assert CURRENT in secret.labels, f"{name}: versions but no AWSCURRENT"
    for label, version_id in secret.labels.items():
        assert version_id in secret.versions, f"{name}: {label} on missing version {version_id}"
    assert len(secret.labels) <= limits.max_labels, f"{name}: {len(secret.labels)} labels"
    assert len(secret.versions) <= limits.max_versions, f"{name}: {len(secret.versions)} versions"
