"""The current-state view: secrets, versions, labels, tags, deletion state and KMS keys.

Each handler mirrors one event handler of the `Secret` aggregate (or of `KmsKey`/`KeyAlias`),
so a secret loaded from these tables equals the aggregate replayed from the log. Orders that
the aggregate keeps in dicts (labels, tags, versions) are kept as `seq` columns: the position of
the event that first inserted the key, as dict insertion order works. `cs_secret_events` indexes
every secret event by position and time, for point-in-time questions.
"""
from __future__ import annotations

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.sqlite import SQLiteCursor
from eventsourcing.utils import get_topic

from ledger.events import (
    SECRET_EVENTS, DeletionCancelled, DeletionScheduled, DescriptionChanged, KeyChanged,
    LabelMoved, SecretAccessed, SecretCreated, SecretDeleted, TagsChanged, VersionCreated,
    VersionReEncrypted, VersionRemoved,
)
from ledger.keys.kms_key import AliasAssigned, AliasRetargeted, KeyCreated, KeyStateChanged
from projections.secret_view import to_micros

SEQ_STRIDE = 1024  # room for the items one event adds (tags: at most 50)

DDL = [
    "CREATE TABLE IF NOT EXISTS cs_secrets (secret_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "arn TEXT NOT NULL, description TEXT, kms_key_id TEXT, owning_service TEXT, "
    "has_tags INTEGER NOT NULL, created_at INTEGER NOT NULL, last_changed_at INTEGER NOT NULL, "
    "last_accessed INTEGER, deletion_requested_at INTEGER, deletion_after INTEGER, "
    "deletion_forced INTEGER, deleted INTEGER NOT NULL, position INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cs_secrets_by_name ON cs_secrets (name, deleted)",
    "CREATE TABLE IF NOT EXISTS cs_versions (secret_id TEXT NOT NULL, version_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, created_at INTEGER NOT NULL, value_type TEXT NOT NULL, "
    "fingerprint TEXT NOT NULL, key_arn TEXT NOT NULL, last_accessed INTEGER, "
    "request_id TEXT, PRIMARY KEY (secret_id, version_id))",
    "CREATE INDEX IF NOT EXISTS cs_versions_by_fingerprint ON cs_versions (fingerprint)",
    "CREATE TABLE IF NOT EXISTS cs_labels (secret_id TEXT NOT NULL, label TEXT NOT NULL, "
    "version_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (secret_id, label))",
    "CREATE TABLE IF NOT EXISTS cs_tags (secret_id TEXT NOT NULL, key TEXT NOT NULL, "
    "value TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (secret_id, key))",
    "CREATE TABLE IF NOT EXISTS cs_label_moves (secret_id TEXT NOT NULL, label TEXT NOT NULL, "
    "position INTEGER NOT NULL, at INTEGER NOT NULL, from_version TEXT, to_version TEXT, "
    "by_arn TEXT, request_id TEXT, operation TEXT, PRIMARY KEY (secret_id, label, position))",
    "CREATE TABLE IF NOT EXISTS cs_secret_events (secret_id TEXT NOT NULL, "
    "version INTEGER NOT NULL, position INTEGER NOT NULL, at INTEGER NOT NULL, "
    "PRIMARY KEY (secret_id, version))",
    "CREATE INDEX IF NOT EXISTS cs_secret_events_by_time ON cs_secret_events (secret_id, at)",
    "CREATE TABLE IF NOT EXISTS cs_kms_keys (aggregate_id TEXT PRIMARY KEY, "
    "key_id TEXT NOT NULL UNIQUE, arn TEXT NOT NULL, "
    "description TEXT, key_manager TEXT, state TEXT NOT NULL, deletion_date INTEGER, "
    "created_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cs_kms_aliases (aggregate_id TEXT PRIMARY KEY, "
    "alias TEXT NOT NULL UNIQUE, key_id TEXT)",
]

TABLES = {
    "cs_secrets": "secret_id", "cs_versions": "secret_id, version_id",
    "cs_labels": "secret_id, label", "cs_tags": "secret_id, key",
    "cs_label_moves": "secret_id, label, position", "cs_secret_events": "secret_id, version",
    "cs_kms_keys": "aggregate_id", "cs_kms_aliases": "aggregate_id",
}

_KMS_EVENTS = (KeyCreated, KeyStateChanged, AliasAssigned, AliasRetargeted)


class CurrentStateView:
    name = "view:current_state"
    topics = tuple(get_topic(cls) for cls in (*SECRET_EVENTS, *_KMS_EVENTS))
    ddl = DDL
    tables = TABLES

    def process(self, cursor: SQLiteCursor, event: Any, position: int) -> None:
        if isinstance(event, SECRET_EVENTS):
            cursor.execute("INSERT INTO cs_secret_events VALUES (?, ?, ?, ?)",
                           (event.originator_id.hex, event.originator_version, position,
                            to_micros(event.timestamp)))
        self.apply(event, cursor, position)

    @singledispatchmethod
    def apply(self, event: Any, cursor: SQLiteCursor, position: int) -> None:
        """Events the view does not show leave it unchanged."""

    # ---- secrets --------------------------------------------------------------------------
    @apply.register
    def _(self, e: SecretCreated, c: SQLiteCursor, position: int) -> None:
        at = to_micros(e.timestamp)
        c.execute("INSERT INTO cs_secrets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, "
                  "NULL, 0, ?)", (e.originator_id.hex, e.name, e.arn, e.description,
                                  e.kms_key_id, e.owning_service, int(bool(e.tags)), at, at,
                                  position))
        _upsert_tags(c, e.originator_id.hex, e.tags, position)

    @apply.register
    def _(self, e: VersionCreated, c: SQLiteCursor, position: int) -> None:
        c.execute("INSERT INTO cs_versions VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) "
                  "ON CONFLICT (secret_id, version_id) DO UPDATE SET "
                  "created_at = excluded.created_at, value_type = excluded.value_type, "
                  "fingerprint = excluded.fingerprint, key_arn = excluded.key_arn, "
                  "last_accessed = NULL, request_id = excluded.request_id",
                  (e.originator_id.hex, e.version_id, position, to_micros(e.timestamp),
                   e.value_type, e.fingerprint, e.key_arn, e.context.get("request_id")))
        _touch(c, e)

    @apply.register
    def _(self, e: LabelMoved, c: SQLiteCursor, position: int) -> None:
        secret_id = e.originator_id.hex
        if e.to_version is None:
            c.execute("DELETE FROM cs_labels WHERE secret_id = ? AND label = ?",
                      (secret_id, e.label))
        else:
            c.execute("INSERT INTO cs_labels VALUES (?, ?, ?, ?) ON CONFLICT (secret_id, label) "
                      "DO UPDATE SET version_id = excluded.version_id",
                      (secret_id, e.label, e.to_version, position * SEQ_STRIDE))
        caller = e.context.get("caller") or {}
        c.execute("INSERT INTO cs_label_moves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (secret_id, e.label, position, to_micros(e.timestamp), e.from_version,
                   e.to_version, caller.get("arn"), e.context.get("request_id"),
                   e.context.get("operation")))
        _touch(c, e)

    @apply.register
    def _(self, e: KeyChanged, c: SQLiteCursor, position: int) -> None:
        _set(c, e, "kms_key_id = ?", e.to_key)
        _touch(c, e)

    @apply.register
    def _(self, e: VersionReEncrypted, c: SQLiteCursor, position: int) -> None:
        c.execute("UPDATE cs_versions SET key_arn = ? WHERE secret_id = ? AND version_id = ?",
                  (e.to_key_arn, e.originator_id.hex, e.version_id))

    @apply.register
    def _(self, e: DescriptionChanged, c: SQLiteCursor, position: int) -> None:
        _set(c, e, "description = ?", e.description)
        _touch(c, e)

    @apply.register
    def _(self, e: TagsChanged, c: SQLiteCursor, position: int) -> None:
        secret_id = e.originator_id.hex
        _set(c, e, "has_tags = ?", 1)
        _upsert_tags(c, secret_id, e.added, position)
        c.executemany("DELETE FROM cs_tags WHERE secret_id = ? AND key = ?",
                      [(secret_id, key) for key in e.removed])
        _touch(c, e)

    @apply.register
    def _(self, e: DeletionScheduled, c: SQLiteCursor, position: int) -> None:
        c.execute("UPDATE cs_secrets SET deletion_requested_at = ?, deletion_after = ?, "
                  "deletion_forced = ? WHERE secret_id = ?",
                  (to_micros(e.requested_at), to_micros(e.delete_after), int(e.forced),
                   e.originator_id.hex))
        _touch(c, e)

    @apply.register
    def _(self, e: DeletionCancelled, c: SQLiteCursor, position: int) -> None:
        c.execute("UPDATE cs_secrets SET deletion_requested_at = NULL, deletion_after = NULL, "
                  "deletion_forced = NULL WHERE secret_id = ?", (e.originator_id.hex,))
        _touch(c, e)

    @apply.register
    def _(self, e: SecretDeleted, c: SQLiteCursor, position: int) -> None:
        _set(c, e, "deleted = ?", 1)

    @apply.register
    def _(self, e: VersionRemoved, c: SQLiteCursor, position: int) -> None:
        c.execute("DELETE FROM cs_versions WHERE secret_id = ? AND version_id = ?",
                  (e.originator_id.hex, e.version_id))

    @apply.register
    def _(self, e: SecretAccessed, c: SQLiteCursor, position: int) -> None:
        day = to_micros(e.day)
        c.execute("UPDATE cs_versions SET last_accessed = ? WHERE secret_id = ? AND "
                  "version_id = ?", (day, e.originator_id.hex, e.version_id))
        _set(c, e, "last_accessed = ?", day)

    # ---- KMS keys -------------------------------------------------------------------------
    @apply.register
    def _(self, e: KeyCreated, c: SQLiteCursor, position: int) -> None:
        c.execute("INSERT INTO cs_kms_keys VALUES (?, ?, ?, ?, ?, 'Enabled', NULL, ?)",
                  (e.originator_id.hex, e.key_id, e.arn, e.description, e.key_manager,
                   to_micros(e.timestamp)))

    @apply.register
    def _(self, e: KeyStateChanged, c: SQLiteCursor, position: int) -> None:
        deletion = None if e.deletion_date is None else to_micros(e.deletion_date)
        c.execute("UPDATE cs_kms_keys SET state = ?, deletion_date = ? WHERE aggregate_id = ?",
                  (e.state, deletion, e.originator_id.hex))

    @apply.register
    def _(self, e: AliasAssigned, c: SQLiteCursor, position: int) -> None:
        c.execute("INSERT OR REPLACE INTO cs_kms_aliases VALUES (?, ?, ?)",
                  (e.originator_id.hex, e.alias, e.key_id))

    @apply.register
    def _(self, e: AliasRetargeted, c: SQLiteCursor, position: int) -> None:
        c.execute("UPDATE cs_kms_aliases SET key_id = ? WHERE aggregate_id = ?",
                  (e.key_id, e.originator_id.hex))


def _set(c: SQLiteCursor, e: Any, assignment: str, value: Any) -> None:
    c.execute(f"UPDATE cs_secrets SET {assignment} WHERE secret_id = ?",
              (value, e.originator_id.hex))


def _touch(c: SQLiteCursor, e: Any) -> None:
    """LastChangedDate: every change of value, labels, key, description, tags or deletion."""
    _set(c, e, "last_changed_at = ?", to_micros(e.timestamp))


def _upsert_tags(c: SQLiteCursor, secret_id: str, pairs: list[list[str]], position: int) -> None:
    c.executemany("INSERT INTO cs_tags VALUES (?, ?, ?, ?) ON CONFLICT (secret_id, key) "
                  "DO UPDATE SET value = excluded.value",
                  [(secret_id, key, value, position * SEQ_STRIDE + i)
                   for i, (key, value) in enumerate(pairs)])
