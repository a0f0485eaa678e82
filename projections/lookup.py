"""LookupEvents over the audit trail: one attribute, a time range, newest first, paginated.

The parameters, limits, errors and response shape are CloudTrail's. Every query is answered from
an index: `audit_lookup (attribute, value, event_time, position)` when an attribute is given,
`audit_events (event_time, position)` otherwise; the page's records are then rendered from
their events (`audit_records`), so `cursor` is the `TrailCursor` of `ReadModels.read_audit`.
Pages are keyset pages (the NextToken holds the last record's time and position plus a hash of
the query), so records written while someone pages through never shift or repeat a page.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.sqlite import SQLiteCursor

from ledger.errors import InvalidNextTokenException, LedgerError
from projections.audit_check import Admits
from projections.audit_records import to_json, trail_cursor
from projections.audit_trail import index_pairs, resource_names
from projections.cloudtrail import EVENT_SOURCE, lookup_username
from projections.secret_view import to_micros

ATTRIBUTE_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType",
                  "ResourceName", "EventSource", "AccessKeyId")
MAX_RESULTS = 50
_FAR_FUTURE = 2**62


class InvalidLookupAttributesException(LedgerError):
    code = "InvalidLookupAttributesException"


class InvalidTimeRangeException(LedgerError):
    code = "InvalidTimeRangeException"


class InvalidMaxResultsException(LedgerError):
    code = "InvalidMaxResultsException"


@dataclass(frozen=True)
class Query:
    attribute: tuple[str, str] | None = None
    start: int = 0  # microseconds, inclusive
    end: int = _FAR_FUTURE  # microseconds, inclusive

    def fingerprint(self) -> str:
        text = json.dumps([self.attribute, self.start, self.end])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def admits(self, account_id: str) -> Admits:
        """Whether a record's event answers this query, judged from the event itself (the
        check that a row of the mutable lookup table really belongs to the answer)."""
        def check(event: Any, value_hash: str | None) -> bool:
            if not self.start <= to_micros(event.timestamp) <= self.end:
                return False
            if self.attribute is None:
                return True
            key, value = self.attribute
            if key == "EventId":
                return str(event.originator_id) == value
            if key == "EventSource":
                return value == EVENT_SOURCE
            return (key, value) in index_pairs(event, account_id, value_hash)
        return check


def parse_query(attributes: Sequence[Mapping[str, str]] | None, start_time: datetime | None,
                end_time: datetime | None, extra_keys: tuple[str, ...] = ()) -> Query:
    """Check LookupEvents parameters; `extra_keys` admits the ledger's own attributes."""
    attribute = None
    if attributes:
        if len(attributes) > 1:
            raise InvalidLookupAttributesException(
                "You can specify at most one lookup attribute.")
        key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue")
        if key not in ATTRIBUTE_KEYS + extra_keys:
            raise InvalidLookupAttributesException(f"Invalid lookup attribute key: {key}.")
        if not isinstance(value, str) or not 1 <= _weighted_length(value) <= 2000:
            raise InvalidLookupAttributesException(
                "The lookup attribute value must be 1 to 2000 characters long.")
        attribute = (key, value)
    start = to_micros(start_time) if start_time is not None else 0
    end = to_micros(end_time) if end_time is not None else _FAR_FUTURE
    if start > end:
        raise InvalidTimeRangeException("The start time must not be after the end time.")
    return Query(attribute, start, end)


def _weighted_length(value: str) -> int:
    """CloudTrail counts `_`, space, `,` and newline twice."""
    return len(value) + sum(value.count(ch) for ch in "_ ,\n")


def lookup(cursor: Any, query: Query, max_results: int | None = None,
           next_token: str | None = None) -> dict[str, Any]:
    """One page of matching records, newest first, shaped like LookupEvents' response."""
    trail = trail_cursor(cursor)
    limit = MAX_RESULTS if max_results is None else max_results
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RESULTS:
        raise InvalidMaxResultsException("MaxResults must be between 1 and 50.")
    after = _decode(next_token, query) if next_token is not None else None
    sql, params = _select(query, after, limit + 1)
    trail.execute(sql, params)
    rows = trail.fetchall()
    records = trail.records([tuple(row[1:4]) for row in rows[:limit]],
                            admits=query.admits(trail.account_id))
    response: dict[str, Any] = {"Events": [entry(record) for record in records]}
    if len(rows) > limit:
        last = rows[limit - 1]
        response["NextToken"] = _encode((last[0], last[1]), query)
    return response


def _select(query: Query, after: tuple[int, int] | None, limit: int) -> tuple[str, list[Any]]:
    """The SQL of one page; `after` continues strictly below the previous page's last row."""
    key, value = query.attribute or (None, None)
    params: list[Any]
    if key is None or key in ("EventId", "EventSource"):
        source, params = "audit_events e", []
        time_col, pos_col, where = "e.event_time", "e.position", []
        if key == "EventId":
            where, params = ["e.event_id = ?"], [value]
        elif key == "EventSource" and value != EVENT_SOURCE:
            where = ["1 = 0"]  # every record of this trail comes from Secrets Manager
    else:
        source = "audit_lookup l JOIN audit_events e ON e.position = l.position"
        params = [key, value]
        time_col, pos_col, where = "l.event_time", "l.position", ["l.attribute = ?", "l.value = ?"]
    where += [f"{time_col} >= ?", f"{time_col} <= ?"]
    params += [query.start, query.end]
    if after is not None:
        where.append(f"({time_col} < ? OR ({time_col} = ? AND {pos_col} < ?))")
        params += [after[0], after[0], after[1]]
    sql = (f"SELECT {time_col}, {pos_col}, e.value_hash, e.removed_version FROM {source} "
           f"WHERE {' AND '.join(where)} ORDER BY {time_col} DESC, {pos_col} DESC LIMIT ?")
    return sql, [*params, limit]


def explain(cursor: SQLiteCursor, query: Query) -> str:
    """SQLite's plan for a query's first page (the tests check it uses an index)."""
    sql, params = _select(query, None, MAX_RESULTS + 1)
    cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
    return "\n".join(str(row[-1]) for row in cursor.fetchall())


def entry(record: dict[str, Any], record_json: str | None = None) -> dict[str, Any]:
    """A LookupEvents `Events[]` entry around the full record."""
    result: dict[str, Any] = {
        "EventId": record["eventID"], "EventName": record["eventName"],
        "ReadOnly": "true" if record["readOnly"] else "false",
    }
    access_key = record["userIdentity"].get("accessKeyId")
    if access_key:
        result["AccessKeyId"] = access_key
    result["EventTime"] = record["eventTime"]
    result["EventSource"] = record["eventSource"]
    username = lookup_username(record)
    if username:
        result["Username"] = username
    result["Resources"] = [{"ResourceType": "AWS::SecretsManager::Secret", "ResourceName": name}
                          for name in resource_names(record)]
    result["CloudTrailEvent"] = record_json if record_json is not None else to_json(record)
    return result


def _encode(after: tuple[int, int], query: Query) -> str:
    raw = json.dumps({"t": after[0], "p": after[1], "q": query.fingerprint()})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode(token: str, query: Query) -> tuple[int, int]:
    message = "Invalid NextToken, or NextToken replayed with different parameters."
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        t, p, q = data["t"], data["p"], data["q"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeEncodeError):
        raise InvalidNextTokenException(message) from None
    if q != query.fingerprint() or not all(isinstance(x, int) for x in (t, p)):
        raise InvalidNextTokenException(message)
    return t, p
