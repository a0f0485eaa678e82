"""A secret as the current-state view holds it, shaped like the aggregate for the renderers.

`ledger.shapes` renders responses from these attribute names (`arn`, `labels`, `versions`,
`stages_of`, ...), so the view-backed reads reuse the very same renderers and stay byte-identical
to answers computed from the aggregate. There is no ciphertext here: the view never holds one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from uuid import UUID

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Exact, sortable storage of a timestamp (floats would lose the microseconds)."""
    return (moment - EPOCH) // _MICROSECOND


def to_time(micros: int) -> datetime:
    return EPOCH + micros * _MICROSECOND


def from_micros(micros: int | None) -> datetime | None:
    return None if micros is None else to_time(micros)


@dataclass(frozen=True)
class SealedRef:
    """What the view knows about a sealed value: its kind, fingerprint and key, never bytes."""

    value_type: str
    fingerprint: str
    key_arn: str


@dataclass
class VersionView:
    version_id: str
    created_at: datetime
    sealed: SealedRef
    last_accessed: datetime | None = None


@dataclass(frozen=True)
class DeletionView:
    requested_at: datetime
    delete_after: datetime
    forced: bool


@dataclass
class SecretView:
    id: UUID
    name: str
    arn: str
    description: str | None
    kms_key_id: str | None
    owning_service: str | None
    created_on: datetime
    last_changed_at: datetime
    last_accessed: datetime | None = None
    tags: dict[str, str] | None = None
    versions: dict[str, VersionView] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    deletion: DeletionView | None = None
    deleted: bool = False

    def stages_of(self, version_id: str) -> list[str]:
        return [label for label, vid in self.labels.items() if vid == version_id]

    @property
    def scheduled_for_deletion(self) -> bool:
        return self.deletion is not None

    def version_for(self, version_id: str | None, stage: str | None) -> VersionView | None:
        if version_id is None:
            version_id = self.labels.get(stage or "AWSCURRENT")
        return self.versions.get(version_id) if version_id else None
