"""Export the audit trail as CloudTrail log files (`{"Records": [...]}`) or JSON lines.

Records are written in log order, streamed in pages, so a large trail never sits in memory;
each page is rendered from its events (`audit_records`), so `cursor` is a `TrailCursor`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TextIO

from projections.audit_records import to_json, trail_cursor
from projections.secret_view import to_micros

FORMATS = ("cloudtrail", "jsonl")
_PAGE = 1000
_OPEN = 2**62  # no end time


def positioned_records(cursor: Any, start: int = 0, end: int = _OPEN, after: int = 0
                       ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(log position, record) of each record with `start <= event_time <= end` (microseconds),
    in log order, from the records after log position `after`.

    Each page is checked against the log (`audit_check`), including the stretch of the log it
    covers, so a row deleted from the view is reported: from `after` on when there is no start
    time (else from the first record found), to the view's end when there is no end time
    (else to the last record found)."""
    trail = trail_cursor(cursor)

    def admits(event: Any, _value_hash: str | None) -> bool:
        return start <= to_micros(event.timestamp) <= end

    position, first_page = after, True
    while True:
        trail.execute("SELECT position, value_hash, removed_version FROM audit_events "
                      "WHERE position > ? AND event_time >= ? AND event_time <= ? "
                      "ORDER BY position LIMIT ?", (position, start, end, _PAGE))
        rows = [tuple(row) for row in trail.fetchall()]
        low = position if start <= 0 or not first_page else (rows[0][0] - 1 if rows else None)
        high = rows[-1][0] if rows else position
        if len(rows) < _PAGE and end >= _OPEN and trail.reached is not None:
            high = max(high, trail.reached)
        covering = (low, high) if low is not None and high > low else None
        yield from zip([row[0] for row in rows], trail.records(rows, admits, covering))
        if len(rows) < _PAGE:
            return
        position, first_page = rows[-1][0], False


def records(cursor: Any, start: int = 0, end: int = 2**62, after: int = 0,
            check: Callable[[int], object] | None = None) -> Iterator[str]:
    """Each record's JSON text, as `positioned_records` selects them; `check` is called with
    each record's log position before it is given (it raises to stop a record being shown)."""
    for position, record in positioned_records(cursor, start, end, after):
        if check is not None:
            check(position)
        yield to_json(record)


def write(cursor: Any, out: TextIO, fmt: str, start: int = 0, end: int = 2**62,
          check: Callable[[int], object] | None = None) -> int:
    """Write the trail to `out` (`check` as in `records`); returns the number of records."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    count = 0
    if fmt == "cloudtrail":
        out.write('{"Records":[')
    for text in records(cursor, start, end, check=check):
        if fmt == "cloudtrail":
            out.write(("," if count else "") + "\n" + text)
        else:
            out.write(text + "\n")
        count += 1
    if fmt == "cloudtrail":
        out.write("\n]}\n")
    return count
