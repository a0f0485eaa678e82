"""The log's schema: one immutable, past-tense fact per class.

Every event carries `context`, the request that caused it (see `ledger.context`), so the audit
trail is derived from events alone. Values appear only sealed (`ciphertext`) and as a keyed
fingerprint; plaintext never reaches an event. Class names are stored topics: renaming one is a
schema change.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate


class SecretEvent(Aggregate.Event):
    context: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        aggregate.when(self)


class SecretCreated(Aggregate.Created):
    context: dict[str, Any]
    name: str
    arn: str
    description: str | None
    kms_key_id: str | None
    tags: list[list[str]]
    owning_service: str | None


class VersionCreated(SecretEvent):
    version_id: str
    value_type: str  # "SecretString" or "SecretBinary"
    ciphertext: bytes
    fingerprint: str
    key_arn: str


class LabelMoved(SecretEvent):
    """`from_version` None: the label was attached fresh; `to_version` None: it was removed."""

    label: str
    from_version: str | None
    to_version: str | None


class KeyChanged(SecretEvent):
    from_key: str | None
    to_key: str | None


class VersionReEncrypted(SecretEvent):
    version_id: str
    from_key_arn: str
    to_key_arn: str


class DescriptionChanged(SecretEvent):
    description: str


class TagsChanged(SecretEvent):
    added: list[list[str]]
    removed: list[str]


class DeletionScheduled(SecretEvent):
    requested_at: datetime
    delete_after: datetime
    forced: bool


class DeletionCancelled(SecretEvent):
    pass


class SecretDeleted(SecretEvent):
    """The end of a secret: its data keys are destroyed and its name is free again."""


class VersionRemoved(SecretEvent):
    version_id: str
    reason: str


class SecretAccessed(SecretEvent):
    """First read of a version on a UTC day; AWS tracks last access at day precision."""

    version_id: str
    day: datetime


class ResourcePolicyChanged(SecretEvent):
    """PutResourcePolicy (`policy` is the JSON document) or DeleteResourcePolicy (`policy` None)."""

    policy: str | None


SECRET_EVENTS = (
    SecretCreated, VersionCreated, LabelMoved, KeyChanged, VersionReEncrypted,
    DescriptionChanged, TagsChanged, DeletionScheduled, DeletionCancelled, SecretDeleted,
    VersionRemoved, SecretAccessed, ResourcePolicyChanged,
)
