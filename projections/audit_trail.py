"""The audit trail view: one row per API call or service action, indexed for LookupEvents.

Records come from `ApiCallRecorded` events (the ledger's own actions among them, as service
events). The log is immutable, so the view keeps no rendered record: `audit_events` holds the
record's log position, event id and time, plus the two details that come from other events of
the same save, and `audit_records` renders the CloudTrail record from the event on demand. The
two details: a value-carrying write gets its version's keyed fingerprint (from `VersionCreated`),
and a version-cleanup service record names the version removed (from `VersionRemoved`). Each
waits in memory for its record, or in an `audit_pending_*` table when the record falls in a
later batch.

`audit_lookup` holds one row per (attribute, value) of each record, under one composite index,
so a lookup by any LookupEvents attribute reads only the matching records, newest first.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.utils import get_topic

from ledger.calls import ApiCallRecorded
from ledger.events import VersionCreated, VersionRemoved
from projections import cloudtrail
from projections.secret_view import to_micros

VALUE_OPERATIONS = frozenset({"CreateSecret", "UpdateSecret", "PutSecretValue"})
CLEANUP = "EndSecretVersionDelete"

DDL = [
    "CREATE TABLE IF NOT EXISTS audit_events (position INTEGER PRIMARY KEY, "
    "event_id TEXT NOT NULL UNIQUE, event_time INTEGER NOT NULL, value_hash TEXT, "
    "removed_version TEXT)",
    "CREATE INDEX IF NOT EXISTS audit_events_by_time ON audit_events (event_time, position)",
    "CREATE TABLE IF NOT EXISTS audit_lookup (attribute TEXT NOT NULL, value TEXT NOT NULL, "
    "event_time INTEGER NOT NULL, position INTEGER NOT NULL, "
    "PRIMARY KEY (attribute, value, event_time, position)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS audit_pending_removals (position INTEGER PRIMARY KEY, "
    "request_id TEXT NOT NULL, version_id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_pending_removals_by_request "
    "ON audit_pending_removals (request_id, position)",
    "CREATE TABLE IF NOT EXISTS audit_pending_values (request_id TEXT PRIMARY KEY, "
    "fingerprint TEXT NOT NULL)",
]

TABLES = {
    "audit_events": "position", "audit_lookup": "attribute, value, event_time, position",
    "audit_pending_removals": "position", "audit_pending_values": "request_id",
}


class AuditTrailView:
    name = "view:audit_trail"
    topics = tuple(get_topic(cls) for cls in (VersionCreated, VersionRemoved, ApiCallRecorded))
    ddl = DDL
    tables = TABLES

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def process(self, cursor: Any, events: Sequence[tuple[int, Any]], start: int,
                reached: int) -> None:
        pending = _Pending(cursor)
        records: list[tuple[Any, ...]] = []
        lookups: list[tuple[Any, ...]] = []
        for position, e in events:
            kind = type(e)
            if kind is ApiCallRecorded:
                value_hash, removed_version = pending.details_of(e)
                at = to_micros(e.timestamp)
                records.append((position, str(e.originator_id), at, value_hash, removed_version))
                lookups += [(attribute, value, at, position)
                            for attribute, value in index_pairs(e, self.account_id, value_hash)]
            elif kind is VersionCreated:
                request_id = e.context.get("request_id")
                if request_id:
                    pending.values[request_id] = e.fingerprint
            elif kind is VersionRemoved:
                request_id = e.context.get("request_id")
                if request_id:
                    pending.removals[position] = (request_id, e.version_id)
        if records:
            cursor.executemany("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?)", records)
            lookups.sort()
            cursor.executemany("INSERT INTO audit_lookup VALUES (?, ?, ?, ?)", lookups)
        pending.write()


class _Pending:
    """The fingerprints and removals waiting for their records: the stored ones (normally
    none) plus this batch's, written back at the end if still waiting."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        cursor.execute("SELECT request_id, fingerprint FROM audit_pending_values")
        self.stored_values = {row[0]: row[1] for row in cursor.fetchall()}
        cursor.execute("SELECT position, request_id, version_id FROM audit_pending_removals")
        self.stored_removals = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        self.values = dict(self.stored_values)
        self.removals = dict(self.stored_removals)

    def details_of(self, e: Any) -> tuple[str | None, str | None]:
        """(value hash, removed version) of a record, consuming what waited for it."""
        request_id = e.context["request_id"]
        if e.context["operation"] in VALUE_OPERATIONS:
            fingerprint = self.values.pop(request_id, None)
            return (fingerprint if e.error_code is None else None), None
        if e.event_type == "AwsServiceEvent" and e.context["operation"] == CLEANUP:
            # One record per removed version, saved in the order of the removals.
            waiting = [p for p, (rid, _) in self.removals.items() if rid == request_id]
            if waiting:
                return None, self.removals.pop(min(waiting))[1]
        return None, None

    def write(self) -> None:
        c = self.cursor
        gone = [(k,) for k, v in self.stored_values.items() if self.values.get(k) != v]
        if gone:
            c.executemany("DELETE FROM audit_pending_values WHERE request_id = ?", gone)
        new = [(k, v) for k, v in self.values.items() if self.stored_values.get(k) != v]
        if new:
            c.executemany("INSERT INTO audit_pending_values VALUES (?, ?)", new)
        gone = [(p,) for p in self.stored_removals if p not in self.removals]
        if gone:
            c.executemany("DELETE FROM audit_pending_removals WHERE position = ?", gone)
        new = [(p, *v) for p, v in self.removals.items() if p not in self.stored_removals]
        if new:
            c.executemany("INSERT INTO audit_pending_removals VALUES (?, ?, ?)", new)


def index_pairs(e: Any, account_id: str, value_hash: str | None) -> list[tuple[str, str]]:
    """`lookup_values` of the record `e` renders to, computed from the event directly."""
    context = e.context
    if e.event_type == "AwsServiceEvent":
        identity = cloudtrail.service_identity(account_id)
    else:
        identity = cloudtrail.user_identity(context.get("caller") or {})
    pairs = [("EventName", context["operation"]),
             ("ReadOnly", "true" if e.read_only else "false")]
    username = cloudtrail.lookup_username({"userIdentity": identity})
    if username:
        pairs.append(("Username", username))
    access_key = identity.get("accessKeyId")
    if access_key:
        pairs.append(("AccessKeyId", access_key))
    if e.resources:
        for arn in e.resources:
            pairs.append(("ResourceName", arn))
            name = cloudtrail.secret_name_of(arn)
            if name:
                pairs.append(("ResourceName", name))
        pairs.append(("ResourceType", cloudtrail.RESOURCE_TYPE))
    elif e.event_type != "AwsServiceEvent":
        parameters = cloudtrail.camel(dict(context.get("parameters") or {}))
        for member in ("secretId", "name"):
            value = parameters.get(member)
            if isinstance(value, str):
                pairs.append(("ResourceName", value))
                name = cloudtrail.secret_name_of(value)
                if name:
                    pairs.append(("ResourceName", name))
    if value_hash:
        pairs.append(("SecretValueHash", value_hash))
    return list(dict.fromkeys(pairs))


def lookup_values(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The (attribute, value) pairs a record can be found by. EventId is found through
    `audit_events`' own unique index, and EventSource is the same for every record."""
    pairs = [("EventName", record["eventName"]),
             ("ReadOnly", "true" if record["readOnly"] else "false")]
    username = cloudtrail.lookup_username(record)
    if username:
        pairs.append(("Username", username))
    access_key = record["userIdentity"].get("accessKeyId")
    if access_key:
        pairs.append(("AccessKeyId", access_key))
    for name in resource_names(record):
        pairs.append(("ResourceName", name))
    if record["resources"]:
        pairs.append(("ResourceType", cloudtrail.RESOURCE_TYPE))
    value_hash = (record.get("additionalEventData") or {}).get("secretValueHash")
    if value_hash:
        pairs.append(("SecretValueHash", value_hash))
    return list(dict.fromkeys(pairs))


def resource_names(record: dict[str, Any]) -> list[str]:
    """ARNs and names of the secrets a record concerns; for a call that found none, the
    SecretId or Name it asked for, so failed attempts on a secret are found by its name too."""
    names: list[str] = []
    for resource in record["resources"]:
        names.append(resource["ARN"])
        name = cloudtrail.secret_name_of(resource["ARN"])
        if name:
            names.append(name)
    if not names:
        parameters = record.get("requestParameters") or {}
        for member in ("secretId", "name"):
            value = parameters.get(member)
            if isinstance(value, str):
                names.append(value)
                name = cloudtrail.secret_name_of(value)
                if name:
                    names.append(name)
    return names
