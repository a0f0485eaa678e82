"""CloudTrail records rendered on demand from the log, for the rows the audit view finds.

The audit view stores where a record is (its log position) and what lookups need; the record
itself is a pure function of its `ApiCallRecorded` event plus the two details the view kept
(`value_hash`, `removed_version`), so it is rendered when read: the same JSON every time,
nothing to keep in step, and a replay that writes a few index rows per call instead of a
kilobyte of text.

Queries on the trail receive a `TrailCursor` (see `ReadModels.read_audit`): a read cursor on the
view's store that can also render rows into records.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from projections import cloudtrail
from projections.audit_check import API_CALL_TOPIC, Admits, check_coverage, check_rows
from projections.log_reader import LogReader

AuditRow = tuple[int, str | None, str | None]  # position, value_hash, removed_version


class TrailCursor:
    """A cursor on the read store (any backend) that also renders audit rows."""

    def __init__(self, cursor: Any, reader: LogReader, account_id: str, integrity: Any = None,
                 reached: int | None = None) -> None:
        self.cursor, self.reader, self.account_id = cursor, reader, account_id
        # The log's hash chain (an IntegrityStore; None: unchecked), and the log position the
        # view had reached in this transaction (None: unknown), for `records` to check against.
        self.integrity, self.reached = integrity, reached

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.cursor.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> Any:
        return self.cursor.executemany(sql, rows)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()

    def fetchall(self) -> Any:
        return self.cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.cursor.fetchall())

    def records(self, rows: Sequence[AuditRow], admits: Admits | None = None,
                covering: tuple[int, int] | None = None) -> list[dict[str, Any]]:
        """The CloudTrail record of each row, in the rows' order, each checked against its
        event first (`audit_check`): AuditViewAltered if a row disagrees with the log or its
        event is not one `admits` (the query) accepts. `covering` (after, upto): the rows
        claim to be every admitted record in that stretch of the log; checked too."""
        if covering is not None:
            events = {p: e for p, _, e in self.reader.after(
                covering[0], covering[1] - covering[0], stop=covering[1],
                topics=[API_CALL_TOPIC])}
            check_coverage(self.reader, events, rows, admits)
        else:
            events = self.reader.at(row[0] for row in rows)
        check_rows(self.reader, self.integrity, rows, events, admits)
        return [cloudtrail.api_call_record(events[row[0]], self.account_id, row[1], row[2])
                for row in rows]


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def trail_cursor(cursor: Any) -> TrailCursor:
    """`cursor` itself, checked: records can be rendered only by a cursor that reads the log."""
    if not isinstance(cursor, TrailCursor):
        raise TypeError("audit records are rendered from the log: query the trail through "
                        "ReadModels.read_audit (or audit_reading), which gives a TrailCursor")
    return cursor
