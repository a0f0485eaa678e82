"""The history of one secret as a timeline: pure data, built from its events and audit records.

Inputs are the secret's own events and the CloudTrail records that name it, each with its log
position. They are merged in log order, so a read is matched against the labels as they stood
at that moment: a GetSecretValue by stage read whichever version held the stage then. Out come
what the renderers draw: entries (one per fact), a lane per version, and label spans (which
version held a label from which step to which).

Entries of one request share a step, so a label handover (AWSCURRENT to the new version,
AWSPREVIOUS to the old one) is one move. Successful writes' records add nothing the events do
not already say and are left out; reads, failures and denials come from records only.

No value can appear: events carry values only sealed, and neither ciphertexts nor fingerprints
are copied here. Every string is kept as recorded; escaping is the renderers' job.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ledger.events import (
    DeletionCancelled, DeletionScheduled, DescriptionChanged, KeyChanged, LabelMoved,
    SecretCreated, SecretDeleted, TagsChanged, VersionCreated, VersionReEncrypted, VersionRemoved,
)
from projections.integrity_status import IntegrityStatus

# Entry kinds.
CREATED = "created"
VERSION = "version"
LABEL = "label"
KEY = "key"
REENCRYPTED = "re-encrypted"
DESCRIPTION = "description"
TAGS = "tags"
DELETION = "deletion"
RESTORED = "restored"
DELETED = "deleted"
REMOVED = "removed"
READ = "read"
FAILED = "failed"
DENIED = "denied"

DEFAULT_KEY = "aws/secretsmanager"
STANDARD_LABELS = ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING")
# Codes of calls refused for who made them rather than what they asked.
DENIAL_CODES = frozenset({
    "AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
    "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationTokenException",
    "InvalidClientTokenId", "ExpiredTokenException", "SignatureDoesNotMatch",
})


@dataclass(frozen=True)
class Entry:
    """One fact of the history."""

    step: int
    position: int
    at: datetime
    kind: str
    who: str | None
    request_id: str | None
    operation: str | None
    detail: str
    version_id: str | None = None  # the version's lane, when the fact concerns one version
    label: str | None = None
    error_code: str | None = None
    source_ip: str | None = None


@dataclass
class Lane:
    """One version, from its creation to its removal (or the end of the timeline)."""

    version_id: str
    created_at: datetime
    created_step: int
    created_by: str | None
    request_id: str | None
    value_type: str
    keys: list[str]  # every key that has sealed it, first to last
    ended_step: int | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    shredded: bool = False  # its data key is gone: the value is unrecoverable
    reads: int = 0

    @property
    def key_arn(self) -> str:
        return self.keys[-1]


@dataclass(frozen=True)
class Span:
    """A label held by one version from `start_step` until `end_step` (None: to the end)."""

    label: str
    version_id: str
    start_step: int
    start_at: datetime
    end_step: int | None
    end_at: datetime | None
    moved_by: str | None
    request_id: str | None


@dataclass
class Timeline:
    secret_id: str
    name: str
    arn: str
    created_at: datetime
    as_of: datetime | None
    entries: list[Entry] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    step_times: list[datetime] = field(default_factory=list)  # the time of each step
    labels: dict[str, str] = field(default_factory=dict)  # at the end
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    kms_key_id: str | None = None
    status: str = "active"  # "active", "scheduled for deletion ..." or "deleted"
    integrity: IntegrityStatus | None = None  # when verify was run

    @property
    def steps(self) -> int:
        return len(self.step_times)

    def lane(self, version_id: str) -> Lane | None:
        return next((lane for lane in self.lanes if lane.version_id == version_id), None)

    def of_kind(self, *kinds: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.kind in kinds]

    def label_names(self) -> list[str]:
        """Every label that ever appears: the standard three first, then custom ones."""
        seen = dict.fromkeys(span.label for span in self.spans)
        return ([label for label in STANDARD_LABELS if label in seen]
                + [label for label in seen if label not in STANDARD_LABELS])


def short_principal(arn: str | None) -> str:
    """`arn:aws:iam::123456789012:user/alice` -> `user/alice`; other strings unchanged."""
    if not arn:
        return "?"
    parts = arn.split(":", 5)
    return parts[5] if len(parts) == 6 and parts[0] == "arn" else arn


def build_timeline(events: Iterable[tuple[int, Any]], records: Iterable[tuple[int, dict]], *,
                   shredded: Collection[str] = (), as_of: datetime | None = None) -> Timeline:
    """The timeline of the secret whose events (from its `SecretCreated` on) are given.

    `records` may include records of other secrets that once had the same name: a record
    counts when it names this secret's ARN among its resources or, for a call that found no
    resource, when it falls within this secret's life. `shredded` lists the versions whose
    data keys are gone now.
    """
    builder = _Builder(shredded)
    merged = sorted([(p, 0, e) for p, e in events] + [(p, 1, r) for p, r in records],
                    key=lambda item: (item[0], item[1]))
    for position, is_record, item in merged:
        if is_record:
            builder.record(position, item)
        else:
            builder.event(position, item)
    return builder.finish(as_of)


class _Builder:
    def __init__(self, shredded: Collection[str]) -> None:
        self.shredded = set(shredded)
        self.timeline: Timeline | None = None
        self.labels: dict[str, str] = {}
        self.open: dict[str, Span] = {}
        self.lanes: dict[str, Lane] = {}
        self.last_request: tuple[str | None, datetime] | None = None
        self.created_position = 0
        self.deleted_position: int | None = None

    # ---- steps and entries ----------------------------------------------------------------
    def _step(self, request_id: str | None, at: datetime) -> int:
        t = self._timeline
        if request_id is None or self.last_request != (request_id, at):
            t.step_times.append(at)
        self.last_request = (request_id, at)
        return t.steps - 1

    @property
    def _timeline(self) -> Timeline:
        if self.timeline is None:
            raise ValueError("a secret's history starts with its SecretCreated event")
        return self.timeline

    def _add(self, position: int, at: datetime, kind: str, context: dict[str, Any],
             detail: str, **fields: Any) -> Entry:
        request_id = context.get("request_id")
        caller = context.get("caller") or {}
        entry = Entry(step=self._step(request_id, at), position=position, at=at, kind=kind,
                      who=caller.get("arn"), request_id=request_id,
                      operation=context.get("operation"), detail=detail,
                      source_ip=context.get("source_ip"), **fields)
        self._timeline.entries.append(entry)
        return entry

    # ---- events -----------------------------------------------------------------------------
    def event(self, position: int, event: Any) -> None:
        if isinstance(event, SecretCreated):
            self._created(position, event)
            return
        handler = _EVENT_HANDLERS.get(type(event))
        if handler is not None:
            handler(self, position, event)

    def _created(self, position: int, e: SecretCreated) -> None:
        self.timeline = Timeline(secret_id=str(e.originator_id), name=e.name, arn=e.arn,
                                 created_at=e.timestamp, as_of=None, description=e.description,
                                 tags=dict((k, v) for k, v in e.tags),
                                 kms_key_id=e.kms_key_id)
        self.created_position = position
        parts = [f"secret {e.name} created", f"key {e.kms_key_id or DEFAULT_KEY}"]
        if e.description:
            parts.append(f"description {e.description!r}")
        if e.tags:
            parts.append("tags " + ", ".join(f"{k}={v}" for k, v in e.tags))
        self._add(position, e.timestamp, CREATED, e.context, "; ".join(parts))

    def _version(self, position: int, e: VersionCreated) -> None:
        entry = self._add(position, e.timestamp, VERSION, e.context,
                          f"version {e.version_id} created ({e.value_type}, key {e.key_arn})",
                          version_id=e.version_id)
        self.lanes[e.version_id] = Lane(
            version_id=e.version_id, created_at=e.timestamp, created_step=entry.step,
            created_by=entry.who, request_id=entry.request_id, value_type=e.value_type,
            keys=[e.key_arn], shredded=e.version_id in self.shredded)

    def _label(self, position: int, e: LabelMoved) -> None:
        if e.from_version is None:
            detail = f"{e.label} attached to {e.to_version}"
        elif e.to_version is None:
            detail = f"{e.label} removed from {e.from_version}"
        else:
            detail = f"{e.label} moved {e.from_version} -> {e.to_version}"
        entry = self._add(position, e.timestamp, LABEL, e.context, detail,
                          version_id=e.to_version or e.from_version, label=e.label)
        self._close(e.label, entry.step, e.timestamp)
        if e.to_version is None:
            self.labels.pop(e.label, None)
        else:
            self.labels[e.label] = e.to_version
            self.open[e.label] = Span(e.label, e.to_version, entry.step, e.timestamp, None, None,
                                      entry.who, entry.request_id)

    def _close(self, label: str, step: int, at: datetime) -> None:
        span = self.open.pop(label, None)
        if span is not None:
            self._timeline.spans.append(Span(span.label, span.version_id, span.start_step,
                                             span.start_at, step, at, span.moved_by,
                                             span.request_id))

    def _key(self, position: int, e: KeyChanged) -> None:
        self._timeline.kms_key_id = e.to_key
        self._add(position, e.timestamp, KEY, e.context,
                  f"key {e.from_key or DEFAULT_KEY} -> {e.to_key or DEFAULT_KEY}")

    def _reencrypted(self, position: int, e: VersionReEncrypted) -> None:
        lane = self.lanes.get(e.version_id)
        if lane is not None:
            lane.keys.append(e.to_key_arn)
        self._add(position, e.timestamp, REENCRYPTED, e.context,
                  f"version {e.version_id} re-encrypted {e.from_key_arn} -> {e.to_key_arn}",
                  version_id=e.version_id)

    def _description(self, position: int, e: DescriptionChanged) -> None:
        self._timeline.description = e.description
        self._add(position, e.timestamp, DESCRIPTION, e.context,
                  f"description set to {e.description!r}")

    def _tags(self, position: int, e: TagsChanged) -> None:
        tags = self._timeline.tags
        tags.update(dict((k, v) for k, v in e.added))
        for key in e.removed:
            tags.pop(key, None)
        changes = [f"+{k}={v}" for k, v in e.added] + [f"-{k}" for k in e.removed]
        self._add(position, e.timestamp, TAGS, e.context, "tags " + ", ".join(changes))

    def _deletion(self, position: int, e: DeletionScheduled) -> None:
        if e.forced:
            detail = "deletion without recovery"
            self._timeline.status = "deleted"
        else:
            until = _iso(e.delete_after)
            detail = f"deletion scheduled; recoverable until {until}"
            self._timeline.status = f"scheduled for deletion after {until}"
        self._add(position, e.timestamp, DELETION, e.context, detail)

    def _restored(self, position: int, e: DeletionCancelled) -> None:
        self._timeline.status = "active"
        self._add(position, e.timestamp, RESTORED, e.context, "restored: deletion cancelled")

    def _deleted(self, position: int, e: SecretDeleted) -> None:
        entry = self._add(position, e.timestamp, DELETED, e.context,
                          "secret deleted; every data key destroyed")
        self._timeline.status = "deleted"
        self.deleted_position = position
        for label in list(self.open):
            self._close(label, entry.step, e.timestamp)
        for lane in self.lanes.values():
            if lane.ended_step is None:
                lane.ended_step, lane.ended_at = entry.step, e.timestamp
                lane.end_reason, lane.shredded = "secret deleted", True

    def _removed(self, position: int, e: VersionRemoved) -> None:
        entry = self._add(position, e.timestamp, REMOVED, e.context,
                          f"version {e.version_id} removed ({e.reason}); data key destroyed",
                          version_id=e.version_id)
        lane = self.lanes.get(e.version_id)
        if lane is not None:
            lane.ended_step, lane.ended_at = entry.step, e.timestamp
            lane.end_reason, lane.shredded = f"removed ({e.reason})", True

    # ---- records ----------------------------------------------------------------------------
    def record(self, position: int, record: dict) -> None:
        if self.timeline is None or not self._concerns(position, record):
            return
        code = record.get("errorCode")
        operation = record.get("eventName")
        if code is None and operation != "GetSecretValue":
            return  # a successful write: its events tell the story
        parameters = record.get("requestParameters") or {}
        context = _context_of(record)
        at = _record_time(record)
        if code is None:
            stage = parameters.get("versionStage")
            version_id = parameters.get("versionId") or self.labels.get(stage or "AWSCURRENT")
            how = f" by label {stage}" if stage else ("" if parameters.get("versionId")
                                                      else " (AWSCURRENT)")
            self._add(position, at, READ, context, f"read version {version_id}{how}",
                      version_id=version_id)
            lane = self.lanes.get(version_id or "")
            if lane is not None:
                lane.reads += 1
            return
        kind = DENIED if code in DENIAL_CODES else FAILED
        verb = "denied" if kind == DENIED else "failed"
        version_id = parameters.get("versionId")
        self._add(position, at, kind, context, f"{operation} {verb}: {code}",
                  version_id=version_id if version_id in self.lanes else None,
                  error_code=code)

    def _concerns(self, position: int, record: dict) -> bool:
        arns = [resource.get("ARN") for resource in record.get("resources") or []]
        if arns:
            return self._timeline.arn in arns
        if position < self.created_position:
            return False
        return self.deleted_position is None or position <= self.deleted_position

    # ---- the end ------------------------------------------------------------------------------
    def finish(self, as_of: datetime | None) -> Timeline:
        t = self._timeline
        t.as_of = as_of
        t.spans.extend(self.open.values())
        t.spans.sort(key=lambda span: (span.start_step, span.label))
        t.lanes = sorted(self.lanes.values(), key=lambda lane: (lane.created_step,
                                                                lane.created_at))
        t.labels = dict(self.labels)
        return t


def _context_of(record: dict) -> dict[str, Any]:
    """A record's who/what in the shape events carry."""
    identity = record.get("userIdentity") or {}
    who = identity.get("arn") or identity.get("invokedBy") or identity.get("type")
    return {"request_id": record.get("requestID"), "operation": record.get("eventName"),
            "caller": {"arn": who}, "source_ip": record.get("sourceIPAddress")}


def _record_time(record: dict) -> datetime:
    moment = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
    return moment.replace(tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_EVENT_HANDLERS: dict[type, Any] = {
    VersionCreated: _Builder._version, LabelMoved: _Builder._label, KeyChanged: _Builder._key,
    VersionReEncrypted: _Builder._reencrypted, DescriptionChanged: _Builder._description,
    TagsChanged: _Builder._tags, DeletionScheduled: _Builder._deletion,
    DeletionCancelled: _Builder._restored, SecretDeleted: _Builder._deleted,
    VersionRemoved: _Builder._removed,
}
