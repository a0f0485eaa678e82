"""The audit trail view: one CloudTrail record per API call or service action, indexed.

Records come from `ApiCallRecorded` events (the ledger's own actions among them, as service
events). Two details come from the state events saved just before a record, in the same save:
a value-carrying write gets its version's keyed fingerprint (from `VersionCreated`), and a
version-cleanup service record names the version removed (from `VersionRemoved`). Each is parked
in a `audit_pending_*` table until its record arrives, then consumed.

`audit_lookup` holds one row per (attribute, value) of each record, under one composite index,
so a lookup by any LookupEvents attribute reads only the matching records, newest first.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from eventsourcing.sqlite import SQLiteCursor
from eventsourcing.utils import get_topic

from ledger.calls import ApiCallRecorded
from ledger.events import VersionCreated, VersionRemoved
from projections import cloudtrail
from projections.secret_view import to_micros

VALUE_OPERATIONS = frozenset({"CreateSecret", "UpdateSecret", "PutSecretValue"})
CLEANUP = "EndSecretVersionDelete"

DDL = [
    "CREATE TABLE IF NOT EXISTS audit_events (position INTEGER PRIMARY KEY, "
    "event_id TEXT NOT NULL UNIQUE, event_time INTEGER NOT NULL, request_id TEXT NOT NULL, "
    "record TEXT NOT NULL)",
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


Handler = Callable[[Any, Any, SQLiteCursor, int], None]
HANDLERS: dict[type, Handler] = {}


def on(event_class: type) -> Callable[[Handler], Handler]:
    """Register the handler of one event class (exact class: dispatch is one dict lookup)."""
    def register(handler: Handler) -> Handler:
        HANDLERS[event_class] = handler
        return handler
    return register


class AuditTrailView:
    name = "view:audit_trail"
    topics = tuple(get_topic(cls) for cls in (VersionCreated, VersionRemoved, ApiCallRecorded))
    ddl = DDL
    tables = TABLES

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def process(self, cursor: SQLiteCursor, event: Any, position: int) -> None:
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event, cursor, position)


@on(VersionCreated)
def _version_created(view: Any, e: VersionCreated, c: SQLiteCursor, position: int) -> None:
    request_id = e.context.get("request_id")
    if request_id:
        c.execute("INSERT INTO audit_pending_values VALUES (?, ?) ON CONFLICT (request_id) "
                  "DO UPDATE SET fingerprint = excluded.fingerprint",
                  (request_id, e.fingerprint))


@on(ApiCallRecorded)
def _api_call_recorded(view: Any, e: ApiCallRecorded, c: SQLiteCursor, position: int) -> None:
    value_hash = removed_version = None
    request_id = e.context["request_id"]
    if e.context["operation"] in VALUE_OPERATIONS:
        c.execute("DELETE FROM audit_pending_values WHERE request_id = ? RETURNING fingerprint",
                  (request_id,))
        row = c.fetchone()
        if row is not None and e.error_code is None:
            value_hash = row[0]
    elif e.event_type == "AwsServiceEvent" and e.context["operation"] == CLEANUP:
        # One record per removed version, saved in the order of the removals.
        c.execute("DELETE FROM audit_pending_removals WHERE position = (SELECT MIN(position) "
                  "FROM audit_pending_removals WHERE request_id = ?) RETURNING version_id",
                  (request_id,))
        row = c.fetchone()
        removed_version = row[0] if row is not None else None
    record = cloudtrail.api_call_record(e, view.account_id, value_hash, removed_version)
    _insert(c, position, to_micros(e.timestamp), record)


@on(VersionRemoved)
def _version_removed(view: Any, e: VersionRemoved, c: SQLiteCursor, position: int) -> None:
    request_id = e.context.get("request_id")
    if request_id:
        c.execute("INSERT INTO audit_pending_removals VALUES (?, ?, ?)",
                  (position, request_id, e.version_id))


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


def _insert(c: SQLiteCursor, position: int, at: int, record: dict[str, Any]) -> None:
    c.execute("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?)",
              (position, record["eventID"], at, record["requestID"],
               json.dumps(record, separators=(",", ":"))))
    c.executemany("INSERT INTO audit_lookup VALUES (?, ?, ?, ?)",
                  [(attribute, value, at, position) for attribute, value in lookup_values(record)])
