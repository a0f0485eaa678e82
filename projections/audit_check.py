"""Every audit record shown is checked against the log event it comes from.

The audit view is a table anyone who can write the database can edit. A row only points at a
log position and carries two details taken from other events of the same save (the value's
fingerprint, the version a cleanup removed); the record itself is rendered from its event. So
before a record is shown: the log must hold an `ApiCallRecorded` event at that position whose
bytes match its hash-chain row, the details must be the ones that save's events give, and the
event must satisfy the query (time range, lookup attribute). A query that claims a whole
stretch of the log (an export) also reads that stretch's records from the log, so a row deleted
from the view is reported too. A lookup by attribute cannot see a deleted row without reading
the whole log; `secrets-ledger replay` does.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.utils import get_topic

from ledger.calls import ApiCallRecorded
from ledger.events import VersionCreated, VersionRemoved
from ledger.integrity.chain import originator_text
from ledger.integrity.proof import GENESIS, canonical_bytes, chain_hash
from projections.audit_trail import CLEANUP, VALUE_OPERATIONS
from projections.log_reader import LogReader

SAVE_WINDOW = 1024  # log positions searched back for the other events of a record's save
API_CALL_TOPIC = get_topic(ApiCallRecorded)
_CREATED, _REMOVED = get_topic(VersionCreated), get_topic(VersionRemoved)

# Does this ApiCallRecorded event (with this value hash) answer the query?
Admits = Callable[[Any, "str | None"], bool]


class AuditViewAltered(Exception):
    """A row of the audit view disagrees with the log: the answer would be false."""

    def __init__(self, position: int, problem: str) -> None:
        super().__init__(f"the audit record at log position {position} cannot be trusted: "
                         f"{problem}. The audit view was altered or damaged; `secrets-ledger "
                         "rebuild` rebuilds it from the log, `secrets-ledger verify` checks "
                         "the log itself")
        self.position = position


def check_rows(reader: LogReader, integrity: Any, rows: Sequence[Sequence[Any]],
               events: dict[int, Any], admits: Admits | None) -> None:
    """Raise AuditViewAltered unless each row (position, value_hash, removed_version) is what
    the view would hold for the event at its position, and `admits` that event. `integrity`
    (an IntegrityStore, or None to skip) supplies the hash-chain rows."""
    chain = _chain_rows_at(integrity, [row[0] for row in rows]) if integrity is not None else {}
    for row in rows:
        position, event = row[0], events.get(row[0])
        if not isinstance(event, ApiCallRecorded):
            raise AuditViewAltered(position, "the log holds no API call record there")
        if (row[1], row[2]) != expected_details(reader, position, event):
            raise AuditViewAltered(position, "its secretValueHash or removed version is not "
                                             "the one its save recorded")
        if admits is not None and not admits(event, row[1]):
            raise AuditViewAltered(position, "its event does not match the query")
        if integrity is not None and not _chained(chain.get(position), position, event):
            raise AuditViewAltered(position, "its event does not match its hash-chain row")


def check_coverage(reader: LogReader, events: dict[int, Any], rows: Sequence[Sequence[Any]],
                   admits: Admits | None) -> None:
    """`events` are all the API call records of a stretch of the log; every one the query
    admits must be among `rows`."""
    shown = {row[0] for row in rows}
    left_out = [p for p, e in events.items() if p not in shown and (
        admits is None or admits(e, expected_details(reader, p, e)[0]))]
    if left_out:
        raise AuditViewAltered(min(left_out), "the log has this record, the audit view left "
                                              "it out")


def expected_details(reader: LogReader, position: int, event: Any
                     ) -> tuple[str | None, str | None]:
    """(value hash, removed version) as the audit view derives them from the record's save:
    the fingerprint of its VersionCreated, or the version of the VersionRemoved it stands for
    (the k-th cleanup record of a request stands for its k-th removal)."""
    operation, request_id = event.context["operation"], event.context.get("request_id")
    if operation in VALUE_OPERATIONS:
        if event.error_code is not None:
            return None, None
        created = _same_request(reader, position, _CREATED, request_id, nearest_only=True)
        return (created[-1][1].fingerprint if created else None), None
    if event.event_type == "AwsServiceEvent" and operation == CLEANUP:
        removals = _same_request(reader, position, _REMOVED, request_id)
        if not removals:
            return None, None
        first = removals[0][0]
        earlier = [e for _, _, e in reader.after(first, position - first, stop=position - 1,
                                                 topics=[API_CALL_TOPIC])
                   if e.context.get("request_id") == request_id
                   and e.event_type == "AwsServiceEvent" and e.context["operation"] == CLEANUP]
        k = len(earlier)
        return None, (removals[k][1].version_id if k < len(removals) else None)
    return None, None


def _same_request(reader: LogReader, position: int, topic: str, request_id: str | None,
                  nearest_only: bool = False) -> list[tuple[int, Any]]:
    """The events of `topic` and `request_id` shortly before `position`, in log order (with
    `nearest_only`, searched in widening windows, since the last one is all that counts)."""
    for size in ((16, 256, SAVE_WINDOW) if nearest_only else (SAVE_WINDOW,)):
        start = max(position - 1 - size, 0)
        found = [(p, e) for p, _, e in reader.after(start, size, stop=position - 1,
                                                    topics=[topic])
                 if e.context.get("request_id") == request_id]
        if found or start == 0:
            return found
    return []


def _chain_rows_at(integrity: Any, positions: Sequence[int]) -> dict[int, Any]:
    """The hash-chain row (`ChainRow`) of each position, read in runs of nearby positions."""
    wanted, found = sorted(set(positions)), {}
    runs: list[list[int]] = []
    for position in wanted:
        if runs and position - runs[-1][1] <= 8:
            runs[-1][1] = position
        else:
            runs.append([position, position])
    for low, high in runs:
        for row in integrity.chain_rows(low - 1, high):
            found[row.position] = row
    return {p: found[p] for p in wanted if p in found}


def _chained(row: Any, position: int, event: Any) -> bool:
    """`row` (the chain row read at `position`) is version 1 of the record's own stream, and
    its bytes hash to the chain row recorded for it at that position."""
    if row is None or row.version != 1:
        return False
    if row.originator_id != originator_text(event.originator_id):
        return False
    canonical = canonical_bytes(row.originator_id, row.version, row.topic, row.state)
    return (row.recorded_position == position
            and row.recorded_hash == chain_hash(GENESIS, canonical))
