"""A secret's state as the read side keeps it, and the one function that changes it.

Each secret event becomes a compact *change* (`change_of`: the event minus its context and
ciphertext), stored with the event's position in `cs_secret_events`. `apply` folds a change into
a `SecretState` exactly as the `Secret` aggregate's `when` handlers fold the event, including
dict order (labels, tags and versions keep the order of their first insertion). The
current-state projection folds changes to maintain its tables; point-in-time inspection folds
the few changes after the nearest checkpoint. One function for both, so the two cannot disagree.

Orders are also kept as `seq` numbers for the SQL tables: the position of the event that first
inserted an item (times `SEQ_STRIDE`, plus the item's index within the event, for labels and tags).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.codec import pack, unpack
from ledger.events import (
    DeletionCancelled, DeletionScheduled, DescriptionChanged, KeyChanged, LabelMoved,
    SecretAccessed, SecretCreated, SecretDeleted, TagsChanged, VersionCreated,
    VersionReEncrypted, VersionRemoved,
)
from projections.secret_view import (
    DeletionView, SealedRef, SecretView, VersionView, from_micros, to_micros, to_time,
)

SEQ_STRIDE = 1024  # room for the items one event adds (tags: at most 50)

# A version: [seq, created_at, value_type, fingerprint, key_arn, last_accessed, request_id]
SEQ, CREATED, VALUE_TYPE, FINGERPRINT, KEY_ARN, LAST_ACCESSED, REQUEST_ID = range(7)


@dataclass
class SecretState:
    """The aggregate's state (times in microseconds) plus what the tables need besides."""

    secret_id: str  # hex
    name: str
    arn: str
    owning_service: str | None
    created_at: int
    position: int  # of SecretCreated
    description: str | None = None
    kms_key_id: str | None = None
    has_tags: bool = False  # the aggregate's `tags` is None until tags are set
    tags: dict[str, list[Any]] = field(default_factory=dict)  # key -> [value, seq]
    versions: dict[str, list[Any]] = field(default_factory=dict)  # id -> version list
    labels: dict[str, list[Any]] = field(default_factory=dict)  # label -> [version_id, seq]
    last_changed_at: int = 0
    last_accessed: int | None = None
    deletion: list[Any] | None = None  # [requested_at, delete_after, forced]
    deleted: bool = False
    version: int = 0  # of the last event folded in
    at_max: int = 0  # latest timestamp among those events
    # What changed since the projection last wrote the tables (as-of ignores these).
    dirty_versions: set[str] = field(default_factory=set)
    dirty_labels: set[str] = field(default_factory=set)
    dirty_tags: set[str] = field(default_factory=set)

    def view(self) -> SecretView:
        """The state shaped like the aggregate, for `describe` and the response renderers."""
        deletion = None
        if self.deletion is not None:
            deletion = DeletionView(to_time(self.deletion[0]), to_time(self.deletion[1]),
                                    bool(self.deletion[2]))
        versions = {vid: VersionView(vid, to_time(v[CREATED]),
                                     SealedRef(v[VALUE_TYPE], v[FINGERPRINT], v[KEY_ARN]),
                                     from_micros(v[LAST_ACCESSED]))
                    for vid, v in self.versions.items()}
        return SecretView(
            id=UUID(self.secret_id), name=self.name, arn=self.arn,
            description=self.description, kms_key_id=self.kms_key_id,
            owning_service=self.owning_service, created_on=to_time(self.created_at),
            last_changed_at=to_time(self.last_changed_at),
            last_accessed=from_micros(self.last_accessed),
            tags={k: v[0] for k, v in self.tags.items()} if self.has_tags else None,
            versions=versions, labels={label: v[0] for label, v in self.labels.items()},
            deletion=deletion, deleted=self.deleted)

    # ---- checkpoints ----------------------------------------------------------------------
    def checkpoint(self) -> bytes:
        return pack([self.name, self.arn, self.owning_service, self.created_at, self.position,
                     self.description, self.kms_key_id, self.has_tags,
                     [[k, *v] for k, v in self.tags.items()],
                     [[k, *v] for k, v in self.versions.items()],
                     [[k, *v] for k, v in self.labels.items()],
                     self.last_changed_at, self.last_accessed, self.deletion, self.deleted,
                     self.version, self.at_max])

    @classmethod
    def from_checkpoint(cls, secret_id: str, data: bytes) -> SecretState:
        (name, arn, owning_service, created_at, position, description, kms_key_id, has_tags,
         tags, versions, labels, last_changed_at, last_accessed, deletion, deleted, version,
         at_max) = unpack(bytes(data))
        return cls(secret_id, name, arn, owning_service, created_at, position, description,
                   kms_key_id, has_tags, {t[0]: t[1:] for t in tags},
                   {v[0]: v[1:] for v in versions}, {lb[0]: lb[1:] for lb in labels},
                   last_changed_at, last_accessed, deletion, deleted, version, at_max)


# ---- events -> changes ----------------------------------------------------------------------

def change_of(event: Any) -> list[Any] | None:
    """The part of a secret event that changes the state; None for events that change
    nothing shown here (a resource policy, say)."""
    encode = _ENCODERS.get(type(event))
    return encode(event) if encode is not None else None


_ENCODERS: dict[type, Callable[[Any], list[Any]]] = {
    SecretCreated: lambda e: ["C", e.name, e.arn, e.description, e.kms_key_id,
                              e.owning_service, e.tags],
    VersionCreated: lambda e: ["V", e.version_id, e.value_type, e.fingerprint, e.key_arn,
                               e.context.get("request_id")],
    LabelMoved: lambda e: ["L", e.label, e.to_version],
    KeyChanged: lambda e: ["K", e.to_key],
    VersionReEncrypted: lambda e: ["R", e.version_id, e.to_key_arn],
    DescriptionChanged: lambda e: ["D", e.description],
    TagsChanged: lambda e: ["T", e.added, e.removed],
    DeletionScheduled: lambda e: ["S", to_micros(e.requested_at), to_micros(e.delete_after),
                                  bool(e.forced)],
    DeletionCancelled: lambda e: ["U"],
    SecretDeleted: lambda e: ["X"],
    VersionRemoved: lambda e: ["-", e.version_id],
    SecretAccessed: lambda e: ["A", e.version_id, to_micros(e.day)],
}


# ---- changes -> state -----------------------------------------------------------------------

def start(secret_id: str, change: list[Any], position: int, at: int) -> SecretState:
    """The state right after SecretCreated."""
    _, name, arn, description, kms_key_id, owning_service, tags = change
    state = SecretState(secret_id, name, arn, owning_service, at, position, description,
                        kms_key_id, has_tags=bool(tags), last_changed_at=at, version=1,
                        at_max=at)
    _set_tags(state, tags, position)
    return state


def apply(state: SecretState, change: list[Any] | None, position: int, version: int,
          at: int) -> None:
    """Fold one change (of the event at `position`, stamped `at`) into `state`."""
    state.version = version
    if at > state.at_max:
        state.at_max = at
    if change is not None:
        _APPLY[change[0]](state, change, position, at)


def _version_created(s: SecretState, c: list[Any], position: int, at: int) -> None:
    _, version_id, value_type, fingerprint, key_arn, request_id = c
    existing = s.versions.get(version_id)
    seq = existing[SEQ] if existing is not None else position
    s.versions[version_id] = [seq, at, value_type, fingerprint, key_arn, None, request_id]
    s.dirty_versions.add(version_id)
    s.last_changed_at = at


def _label_moved(s: SecretState, c: list[Any], position: int, at: int) -> None:
    _, label, to_version = c
    if to_version is None:
        s.labels.pop(label, None)
    else:
        existing = s.labels.get(label)
        seq = existing[1] if existing is not None else position * SEQ_STRIDE
        s.labels[label] = [to_version, seq]
    s.dirty_labels.add(label)
    s.last_changed_at = at


def _key_changed(s: SecretState, c: list[Any], position: int, at: int) -> None:
    s.kms_key_id = c[1]
    s.last_changed_at = at


def _re_encrypted(s: SecretState, c: list[Any], position: int, at: int) -> None:
    version = s.versions.get(c[1])
    if version is not None:
        version[KEY_ARN] = c[2]
        s.dirty_versions.add(c[1])


def _description_changed(s: SecretState, c: list[Any], position: int, at: int) -> None:
    s.description = c[1]
    s.last_changed_at = at


def _tags_changed(s: SecretState, c: list[Any], position: int, at: int) -> None:
    _set_tags(s, c[1], position)
    for key in c[2]:
        s.tags.pop(key, None)
        s.dirty_tags.add(key)
    s.has_tags = True
    s.last_changed_at = at


def _set_tags(s: SecretState, pairs: list[list[str]], position: int) -> None:
    for i, (key, value) in enumerate(pairs):
        existing = s.tags.get(key)
        seq = existing[1] if existing is not None else position * SEQ_STRIDE + i
        s.tags[key] = [value, seq]
        s.dirty_tags.add(key)


def _deletion_scheduled(s: SecretState, c: list[Any], position: int, at: int) -> None:
    s.deletion = [c[1], c[2], c[3]]
    s.last_changed_at = at


def _deletion_cancelled(s: SecretState, c: list[Any], position: int, at: int) -> None:
    s.deletion = None
    s.last_changed_at = at


def _deleted(s: SecretState, c: list[Any], position: int, at: int) -> None:
    s.deleted = True


def _version_removed(s: SecretState, c: list[Any], position: int, at: int) -> None:
    s.versions.pop(c[1], None)
    s.dirty_versions.add(c[1])


def _accessed(s: SecretState, c: list[Any], position: int, at: int) -> None:
    version = s.versions.get(c[1])
    if version is not None:
        version[LAST_ACCESSED] = c[2]
        s.dirty_versions.add(c[1])
    s.last_accessed = c[2]


def _created_again(s: SecretState, c: list[Any], position: int, at: int) -> None:
    raise ValueError(f"secret {s.secret_id} created twice")


_APPLY: dict[str, Callable[[SecretState, list[Any], int, int], None]] = {
    "C": _created_again, "V": _version_created, "L": _label_moved, "K": _key_changed,
    "R": _re_encrypted, "D": _description_changed, "T": _tags_changed,
    "S": _deletion_scheduled, "U": _deletion_cancelled, "X": _deleted, "-": _version_removed,
    "A": _accessed,
}
