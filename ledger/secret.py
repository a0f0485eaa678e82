"""The Secret aggregate: guards first, then past-tense events. No I/O, no clock, no randomness.

Values arrive already sealed (`SealedValue`); the application does all cryptography. Time and
version ids come in as arguments so replay is exact and tests need no patching.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate

from ledger import labels as label_rules
from ledger.errors import (
    MARKED_FOR_DELETION, InvalidRequestException, LimitExceededException,
    ResourceExistsException,
)
from ledger.events import (
    DeletionCancelled, DeletionScheduled, DescriptionChanged, KeyChanged, LabelMoved,
    ResourcePolicyChanged, SecretAccessed, SecretCreated, SecretDeleted, SecretEvent, TagsChanged,
    VersionCreated, VersionReEncrypted, VersionRemoved,
)


@dataclass(frozen=True)
class SealedValue:
    """A value as the log may hold it: ciphertext plus a keyed fingerprint."""

    value_type: str
    ciphertext: bytes
    fingerprint: str
    key_arn: str

    def __repr__(self) -> str:
        return f"SealedValue({self.value_type}, {len(self.ciphertext)} bytes, key={self.key_arn})"


@dataclass(frozen=True)
class Version:
    version_id: str
    created_at: datetime
    sealed: SealedValue
    last_accessed: datetime | None = None
    created_by: str | None = None  # the caller's ARN: only it may retry the version's token


@dataclass(frozen=True)
class Limits:
    max_versions: int = 100
    version_min_age: timedelta = timedelta(hours=24)
    max_labels: int = 20


class Secret(Aggregate):
    @classmethod
    def create(cls, *, secret_id: UUID, name: str, arn: str, description: str | None,
               kms_key_id: str | None, tags: list[list[str]], owning_service: str | None,
               now: datetime, context: dict[str, Any]) -> Secret:
        return cls._create(SecretCreated, id=secret_id, timestamp=now, context=context, name=name,
                           arn=arn, description=description, kms_key_id=kms_key_id, tags=tags,
                           owning_service=owning_service)

    def __init__(self, name: str, arn: str, description: str | None, kms_key_id: str | None,
                 tags: list[list[str]], owning_service: str | None) -> None:
        self.name, self.arn, self.description = name, arn, description
        self.kms_key_id, self.owning_service = kms_key_id, owning_service
        self.tags: dict[str, str] | None = dict(tags) if tags else None
        self.versions: dict[str, Version] = {}
        self.labels: dict[str, str] = {}
        self.deletion: DeletionScheduled | None = None
        self.deleted = False
        self.last_changed_at: datetime = self.created_on
        self.last_accessed: datetime | None = None
        self.resource_policy: str | None = None  # JSON text of the attached resource policy

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        """Copy for a command: events and sealed values are immutable and can be shared.

        The repository copies a cached aggregate before every command; a generic deep copy
        of every version's ciphertext was the slowest step of a write.
        """
        clone = copy.copy(self)
        clone.versions = dict(self.versions)
        clone.labels = dict(self.labels)
        clone.tags = dict(self.tags) if self.tags is not None else None
        clone._pending_events = list(self._pending_events)
        return clone

    # ---- queries -------------------------------------------------------------------------
    def stages_of(self, version_id: str) -> list[str]:
        return [label for label, vid in self.labels.items() if vid == version_id]

    @property
    def scheduled_for_deletion(self) -> bool:
        return self.deletion is not None

    def version_for(self, version_id: str | None, stage: str | None) -> Version | None:
        if version_id is None:
            version_id = self.labels.get(stage or label_rules.CURRENT)
        return self.versions.get(version_id) if version_id else None

    # ---- guards --------------------------------------------------------------------------
    def check_writable(self, acting_service: str | None = None) -> None:
        """Refuse changes during the recovery window, and by anyone but a managed secret's owner."""
        if self.deletion is not None:
            raise InvalidRequestException(MARKED_FOR_DELETION)
        if self.owning_service and acting_service != self.owning_service:
            raise InvalidRequestException(
                f"This secret is managed by an AWS service ({self.owning_service}), and you must "
                "use that service to update it.")

    def made_by(self, version_id: str, caller_arn: str) -> bool:
        existing = self.versions.get(version_id)
        return existing is not None and existing.created_by == caller_arn

    def check_token(self, version_id: str, same_value: bool, caller_arn: str) -> bool:
        """True when the caller who made the version sends its token and value again: an
        idempotent retry. A token in use otherwise is refused, and for anyone but that caller
        whatever the value: the answer would tell them whether a guess equals a value they
        may write but not read."""
        if version_id not in self.versions:
            return False
        if not self.made_by(version_id, caller_arn) or not same_value:
            raise ResourceExistsException(
                f"You can't use ClientRequestToken {version_id} because that value is already in "
                f"use for a version of secret {self.arn}.")
        return True

    # ---- commands ------------------------------------------------------------------------
    def add_version(self, version_id: str, sealed: SealedValue, stages: list[str] | None,
                    limits: Limits, now: datetime, context: dict[str, Any],
                    acting_service: str | None = None,
                    cleanup_context: dict[str, Any] | None = None) -> list[str]:
        """Record a new version, move labels, then apply the version quota and cleanup rule.

        Versions removed by the cleanup rule are the service's act, not the caller's, so their
        events carry `cleanup_context` when given.
        """
        self.check_writable(acting_service)
        moves = label_rules.for_new_value(self.labels, version_id, stages)
        label_rules.check_label_quota(self.labels, moves, limits.max_labels)
        self._trigger(VersionCreated, now, context, version_id=version_id,
                      value_type=sealed.value_type, ciphertext=sealed.ciphertext,
                      fingerprint=sealed.fingerprint, key_arn=sealed.key_arn)
        self._move_labels(moves, now, context)
        self._clean_up_versions(limits, now, cleanup_context or context)
        return self.stages_of(version_id)

    def update_stage(self, label: str, remove_from: str | None, move_to: str | None,
                     limits: Limits, now: datetime, context: dict[str, Any],
                     acting_service: str | None = None) -> None:
        self.check_writable(acting_service)
        moves = label_rules.for_stage_update(self.labels, label, remove_from, move_to)
        label_rules.check_label_quota(self.labels, moves, limits.max_labels)
        self._move_labels(moves, now, context)

    def change_description(self, description: str, now: datetime, context: dict[str, Any],
                           acting_service: str | None = None) -> None:
        self.check_writable(acting_service)
        if description != self.description:
            self._trigger(DescriptionChanged, now, context, description=description)

    def change_key(self, kms_key_id: str | None, now: datetime, context: dict[str, Any],
                   acting_service: str | None = None) -> bool:
        self.check_writable(acting_service)
        if kms_key_id == self.kms_key_id:
            return False
        self._trigger(KeyChanged, now, context, from_key=self.kms_key_id, to_key=kms_key_id)
        return True

    def labelled_versions(self) -> list[Version]:
        """The versions AWS re-encrypts on a key change."""
        wanted = (label_rules.CURRENT, label_rules.PENDING, label_rules.PREVIOUS)
        ids = dict.fromkeys(self.labels[label] for label in wanted if label in self.labels)
        return [self.versions[vid] for vid in ids if vid in self.versions]

    def re_encrypt(self, version_id: str, to_key_arn: str, now: datetime,
                   context: dict[str, Any]) -> None:
        from_key = self.versions[version_id].sealed.key_arn
        if from_key != to_key_arn:
            self._trigger(VersionReEncrypted, now, context, version_id=version_id,
                          from_key_arn=from_key, to_key_arn=to_key_arn)

    def tag(self, tags: list[list[str]], now: datetime, context: dict[str, Any],
            acting_service: str | None = None) -> None:
        self.check_writable(acting_service)
        self._trigger(TagsChanged, now, context, added=tags, removed=[])

    def untag(self, keys: list[str], now: datetime, context: dict[str, Any],
              acting_service: str | None = None) -> None:
        self.check_writable(acting_service)
        self._trigger(TagsChanged, now, context, added=[], removed=keys)

    def set_resource_policy(self, policy: str | None, now: datetime, context: dict[str, Any],
                            acting_service: str | None = None) -> None:
        """Attach (or with None remove) the resource policy; the document is checked already."""
        self.check_writable(acting_service)
        if policy != self.resource_policy:
            self._trigger(ResourcePolicyChanged, now, context, policy=policy)

    def schedule_deletion(self, window_days: int, now: datetime, context: dict[str, Any]) -> None:
        if self.deletion is not None:
            raise InvalidRequestException(
                "You tried to perform the operation on a secret that's currently marked deleted.")
        self._trigger(DeletionScheduled, now, context, requested_at=now,
                      delete_after=now + timedelta(days=window_days), forced=False)

    def delete_now(self, now: datetime, context: dict[str, Any]) -> None:
        if self.deletion is None:
            self._trigger(DeletionScheduled, now, context, requested_at=now, delete_after=now,
                          forced=True)
        self._trigger(SecretDeleted, now, context)

    def cancel_deletion(self, now: datetime, context: dict[str, Any]) -> bool:
        if self.deletion is None:
            return False
        self._trigger(DeletionCancelled, now, context)
        return True

    def record_access(self, version_id: str, day: datetime, now: datetime,
                      context: dict[str, Any]) -> bool:
        if self.versions[version_id].last_accessed == day and self.last_accessed == day:
            return False
        self._trigger(SecretAccessed, now, context, version_id=version_id, day=day)
        return True

    def _move_labels(self, moves: list[label_rules.Move], now: datetime,
                     context: dict[str, Any]) -> None:
        for label, from_version, to_version in moves:
            self._trigger(LabelMoved, now, context, label=label, from_version=from_version,
                          to_version=to_version)

    def _clean_up_versions(self, limits: Limits, now: datetime, context: dict[str, Any]) -> None:
        """The Decisions rule: only label-less versions *older than* 24 hours may go."""
        if len(self.versions) <= limits.max_versions:
            return
        labelled = set(self.labels.values())
        removable = sorted((v for v in self.versions.values() if v.version_id not in labelled
                            and now - v.created_at > limits.version_min_age),
                           key=lambda v: v.created_at)
        while len(self.versions) > limits.max_versions and removable:
            self._trigger(VersionRemoved, now, context, version_id=removable.pop(0).version_id,
                          reason="cleanup")
        if len(self.versions) > limits.max_versions:
            raise LimitExceededException(
                f"You can't create more than {limits.max_versions} versions of secret {self.arn}; "
                "versions without staging labels are removed once they are 24 hours old.")

    def _trigger(self, event_class: type[SecretEvent], now: datetime, context: dict[str, Any],
                 **fields: Any) -> None:
        self.trigger_event(event_class, timestamp=now, context=context, **fields)

    # ---- event handlers: the only place state changes ------------------------------------
    @singledispatchmethod
    def when(self, event: SecretEvent) -> None:
        raise NotImplementedError(type(event).__name__)

    def _changed(self, event: SecretEvent) -> None:
        self.last_changed_at = event.timestamp

    @when.register
    def _(self, event: VersionCreated) -> None:
        sealed = SealedValue(event.value_type, event.ciphertext, event.fingerprint, event.key_arn)
        self.versions[event.version_id] = Version(event.version_id, event.timestamp, sealed,
                                                  created_by=event.context["caller"]["arn"])
        self._changed(event)

    @when.register
    def _(self, event: LabelMoved) -> None:
        if event.to_version is None:
            self.labels.pop(event.label, None)
        else:
            self.labels[event.label] = event.to_version
        self._changed(event)

    @when.register
    def _(self, event: KeyChanged) -> None:
        self.kms_key_id = event.to_key
        self._changed(event)

    @when.register
    def _(self, event: VersionReEncrypted) -> None:
        version = self.versions[event.version_id]
        sealed = replace(version.sealed, key_arn=event.to_key_arn)
        self.versions[event.version_id] = replace(version, sealed=sealed)

    @when.register
    def _(self, event: DescriptionChanged) -> None:
        self.description = event.description
        self._changed(event)

    @when.register
    def _(self, event: TagsChanged) -> None:
        tags = dict(self.tags or {})
        tags.update(dict(event.added))
        for key in event.removed:
            tags.pop(key, None)
        self.tags = tags
        self._changed(event)

    @when.register
    def _(self, event: DeletionScheduled) -> None:
        self.deletion = event
        self._changed(event)

    @when.register
    def _(self, event: DeletionCancelled) -> None:
        self.deletion = None
        self._changed(event)

    @when.register
    def _(self, event: SecretDeleted) -> None:
        self.deleted = True

    @when.register
    def _(self, event: VersionRemoved) -> None:
        self.versions.pop(event.version_id, None)

    @when.register
    def _(self, event: ResourcePolicyChanged) -> None:
        # LastChangedDate is left alone: it tracks the secret's value and metadata.
        self.resource_policy = event.policy

    @when.register
    def _(self, event: SecretAccessed) -> None:
        version = self.versions[event.version_id]
        self.versions[event.version_id] = replace(version, last_accessed=event.day)
        self.last_accessed = event.day
