"""Where histories and reports get their inputs: the ledger's log and its two views, read only.

A secret's history needs its events and the audit records that name it, each with its log
position so the two can be merged in log order. The events come from the event store (bounded
like `point_in_time.secret_as_of`, which also resolves a name or ARN, deleted secrets included);
positions and records come from the views' own indexes (`cs_secret_events`, `audit_lookup`),
read in one snapshot. A period report reads the audit records of the period and the key and
tag events of the log, each with its position, so a read is judged by the tags of its time.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.events import KeyChanged, SecretCreated, TagsChanged, VersionReEncrypted
from ledger.keys.kms_key import (
    AliasAssigned, AliasRetargeted, KeyCreated, KeyPolicyChanged, KeyStateChanged,
)
from projections import export
from projections.audit_trail import index_pairs
from projections.history import Timeline, build_timeline
from projections.integrity_status import integrity_status
from projections.period_report import PeriodReport, summarize
from projections.sensitivity import SensitiveRule
from projections.point_in_time import Bound, secret_as_of
from projections.secret_view import to_micros

if TYPE_CHECKING:
    from ledger.application import SecretsLedger

REPORT_EVENT_TOPICS = tuple(get_topic(cls) for cls in (
    SecretCreated, TagsChanged, KeyChanged, VersionReEncrypted, KeyCreated, KeyStateChanged,
    KeyPolicyChanged, AliasAssigned, AliasRetargeted))
_PAGE = 500
_FOREVER = 2**62


def load_timeline(ledger: SecretsLedger, secret_id: str, at: datetime | None = None, *,
                  verify: bool = True) -> Timeline:
    """The history of a secret (name or ARN) up to `at` (default: the end of the log now)."""
    end = ledger.recorder.max_notification_id() or 0
    bound = Bound(at=at) if at is not None else Bound(position=end)
    state = secret_as_of(ledger, secret_id, bound)  # raises ResourceNotFoundException
    uuid_ = UUID(state["secretId"])
    events = list(ledger.events.get(uuid_, lte=state["eventsReplayed"]))
    read_models = ledger.read_models
    read_models.refresh(read_models.audit, stop=end)
    with read_models.audit_reading() as cursor:
        cursor.execute("SELECT version, position FROM cs_secret_events WHERE secret_id = ? "
                       "AND version <= ? ORDER BY version", (uuid_.hex, len(events)))
        positions = dict(cursor.fetchall())
        records = _records_naming(cursor, [state["name"], state["arn"]], end,
                                  to_micros(at) if at is not None else _FOREVER)
    key_store: Any = ledger.key_store
    version_ids = {e.version_id for e in events if hasattr(e, "version_id")}
    shredded = {v for v in version_ids if key_store.data_key(uuid_.hex, v) is None}
    timeline = build_timeline(((positions[e.originator_version], e) for e in events), records,
                              shredded=shredded, as_of=at)
    if verify:
        timeline.integrity = integrity_status(ledger)
    return timeline


def _records_naming(cursor: Any, names: Sequence[str], last_position: int,
                    until: int) -> list[tuple[int, dict]]:
    """Every record indexed under one of `names` as ResourceName, in log order."""
    marks = ", ".join("?" for _ in names)
    cursor.execute("SELECT DISTINCT e.position, e.value_hash, e.removed_version "
                   "FROM audit_lookup l JOIN audit_events e ON e.position = l.position "
                   f"WHERE l.attribute = 'ResourceName' AND l.value IN ({marks}) "
                   "AND l.position <= ? AND l.event_time <= ? ORDER BY e.position",
                   (*names, last_position, until))
    rows = [tuple(row) for row in cursor.fetchall()]

    def admits(event: Any, value_hash: str | None) -> bool:  # the row's claims, from the log
        pairs = index_pairs(event, cursor.account_id, value_hash)
        return (to_micros(event.timestamp) <= until
                and any(("ResourceName", name) in pairs for name in names))

    return list(zip([row[0] for row in rows], cursor.records(rows, admits)))


def load_report(ledger: SecretsLedger, start: datetime | None, end: datetime | None,
                rules: Sequence[SensitiveRule], *, verify: bool = True) -> PeriodReport:
    """The audit report of start..end (either open)."""
    low = to_micros(start) if start is not None else 0
    high = to_micros(end) if end is not None else _FOREVER
    log_events = list(_report_events(ledger))

    def build(cursor: Any) -> PeriodReport:
        records = export.positioned_records(cursor, low, high)
        return summarize(records, log_events, rules, start, end)

    report = ledger.read_models.read_audit(build)
    if verify:
        report.integrity = integrity_status(ledger, start, end)
    return report


def _report_events(ledger: SecretsLedger) -> Iterator[tuple[int, Any]]:
    """(position, event) of key creations, state and policy changes, alias moves, secrets'
    key changes and re-encryptions, tag changes and every SecretCreated (to name the
    secrets), in log order."""
    position = 0
    while True:
        notes = ledger.recorder.select_notifications(position, _PAGE,
                                                     topics=REPORT_EVENT_TOPICS,
                                                     inclusive_of_start=False)
        for note in notes:
            yield note.id, ledger.mapper.to_domain_event(note)
        if len(notes) < _PAGE:
            return
        position = notes[-1].id
