"""Export the audit trail as CloudTrail log files (`{"Records": [...]}`) or JSON lines.

Records are written in log order, streamed in pages, so a large trail never sits in memory;
each page is rendered from its events (`audit_records`), so `cursor` is a `TrailCursor`.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from projections.audit_records import to_json, trail_cursor

FORMATS = ("cloudtrail", "jsonl")
_PAGE = 1000


def positioned_records(cursor: Any, start: int = 0, end: int = 2**62, after: int = 0
                       ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(log position, record) of each record with `start <= event_time <= end` (microseconds),
    in log order, from the records after log position `after`."""
    trail = trail_cursor(cursor)
    position = after
    while True:
        trail.execute("SELECT position, value_hash, removed_version FROM audit_events "
                      "WHERE position > ? AND event_time >= ? AND event_time <= ? "
                      "ORDER BY position LIMIT ?", (position, start, end, _PAGE))
        rows = [tuple(row) for row in trail.fetchall()]
        yield from zip([row[0] for row in rows], trail.records(rows))
        if len(rows) < _PAGE:
            return
        position = rows[-1][0]


def records(cursor: Any, start: int = 0, end: int = 2**62, after: int = 0) -> Iterator[str]:
    """Each record's JSON text, as `positioned_records` selects them."""
    return (to_json(record) for _, record in positioned_records(cursor, start, end, after))


def write(cursor: Any, out: TextIO, fmt: str, start: int = 0, end: int = 2**62) -> int:
    """Write the trail to `out`; returns the number of records."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    count = 0
    if fmt == "cloudtrail":
        out.write('{"Records":[')
    for text in records(cursor, start, end):
        if fmt == "cloudtrail":
            out.write(("," if count else "") + "\n" + text)
        else:
            out.write(text + "\n")
        count += 1
    if fmt == "cloudtrail":
        out.write("\n]}\n")
    return count
