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
from projections.log_reader import LogReader

AuditRow = tuple[int, str | None, str | None]  # position, value_hash, removed_version


class TrailCursor:
    """A cursor on the read store (any backend) that also renders audit rows."""

    def __init__(self, cursor: Any, reader: LogReader, account_id: str) -> None:
        self.cursor, self.reader, self.account_id = cursor, reader, account_id

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

    def records(self, rows: Sequence[AuditRow]) -> list[dict[str, Any]]:
        """The CloudTrail record of each row, in the rows' order."""
        events = self.reader.at(row[0] for row in rows)
        records = []
        for position, value_hash, removed_version in rows:
            event = events.get(position)
            if event is None:
                raise LookupError(f"no ApiCallRecorded event at log position {position}")
            records.append(cloudtrail.api_call_record(event, self.account_id, value_hash,
                                                      removed_version))
        return records


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def trail_cursor(cursor: Any) -> TrailCursor:
    """`cursor` itself, checked: records can be rendered only by a cursor that reads the log."""
    if not isinstance(cursor, TrailCursor):
        raise TypeError("audit records are rendered from the log: query the trail through "
                        "ReadModels.read_audit (or audit_reading), which gives a TrailCursor")
    return cursor
