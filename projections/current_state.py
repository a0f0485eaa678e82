"""The current-state view: secrets, versions, labels, tags, deletion state and KMS keys.

Each handler mirrors one event handler of the `Secret` aggregate (or of `KmsKey`/`KeyAlias`),
so a secret loaded from these tables equals the aggregate replayed from the log. Orders that
the aggregate keeps in dicts (labels, tags, versions) are kept as `seq` columns: the position of
the event that first inserted the key, as dict insertion order works. `cs_secret_events` indexes
every secret event by position and time, for point-in-time questions.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


Handler = Callable[[Any, Any, SQLiteCursor, int], None]
HANDLERS: dict[type, Handler] = {}


def on(event_class: type) -> Callable[[Handler], Handler]:
    """Register the handler of one event class (exact class: dispatch is one dict lookup)."""
    def register(handler: Handler) -> Handler:
        HANDLERS[event_class] = handler
        return handler
    return register


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
        handler = HANDLERS.get(type(event))
        if handler is not None:  # events the view does not show leave it unchanged
            handler(self, event, cursor, position)


# ---- one handler per event: the aggregate's `when`, in SQL ------------------------------

@on(SecretCreated)
def _secret_created(view: Any, e: SecretCreated, c: SQLiteCursor, position: int) -> None:
    at = to_micros(e.timestamp)
    c.execute("INSERT INTO cs_secrets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, "
              "NULL, 0, ?)", (e.originator_id.hex, e.name, e.arn, e.description,
                              e.kms_key_id, e.owning_service, int(bool(e.tags)), at, at,
                              position))
    _upsert_tags(c, e.originator_id.hex, e.tags, position)


@on(VersionCreated)
def _version_created(view: Any, e: VersionCreated, c: SQLiteCursor, position: int) -> None:
    c.execute("INSERT INTO cs_versions VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) "
              "ON CONFLICT (secret_id, version_id) DO UPDATE SET "
              "created_at = excluded.created_at, value_type = excluded.value_type, "
              "fingerprint = excluded.fingerprint, key_arn = excluded.key_arn, "
              "last_accessed = NULL, request_id = excluded.request_id",
              (e.originator_id.hex, e.version_id, position, to_micros(e.timestamp),
               e.value_type, e.fingerprint, e.key_arn, e.context.get("request_id")))
    _update(c, e, touch=True)


@on(LabelMoved)
def _label_moved(view: Any, e: LabelMoved, c: SQLiteCursor, position: int) -> None:
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
    _update(c, e, touch=True)


@on(KeyChanged)
def _key_changed(view: Any, e: KeyChanged, c: SQLiteCursor, position: int) -> None:
    _update(c, e, touch=True, kms_key_id=e.to_key)


@on(VersionReEncrypted)
def _version_re_encrypted(view: Any, e: VersionReEncrypted, c: SQLiteCursor, position: int) -> None:
    c.execute("UPDATE cs_versions SET key_arn = ? WHERE secret_id = ? AND version_id = ?",
              (e.to_key_arn, e.originator_id.hex, e.version_id))


@on(DescriptionChanged)
def _description_changed(view: Any, e: DescriptionChanged, c: SQLiteCursor, position: int) -> None:
    _update(c, e, touch=True, description=e.description)


@on(TagsChanged)
def _tags_changed(view: Any, e: TagsChanged, c: SQLiteCursor, position: int) -> None:
    secret_id = e.originator_id.hex
    _upsert_tags(c, secret_id, e.added, position)
    c.executemany("DELETE FROM cs_tags WHERE secret_id = ? AND key = ?",
                  [(secret_id, key) for key in e.removed])
    _update(c, e, touch=True, has_tags=1)


@on(DeletionScheduled)
def _deletion_scheduled(view: Any, e: DeletionScheduled, c: SQLiteCursor, position: int) -> None:
    _update(c, e, touch=True, deletion_requested_at=to_micros(e.requested_at),
            deletion_after=to_micros(e.delete_after), deletion_forced=int(e.forced))


@on(DeletionCancelled)
def _deletion_cancelled(view: Any, e: DeletionCancelled, c: SQLiteCursor, position: int) -> None:
    _update(c, e, touch=True, deletion_requested_at=None, deletion_after=None,
            deletion_forced=None)


@on(SecretDeleted)
def _secret_deleted(view: Any, e: SecretDeleted, c: SQLiteCursor, position: int) -> None:
    _update(c, e, touch=False, deleted=1)


@on(VersionRemoved)
def _version_removed(view: Any, e: VersionRemoved, c: SQLiteCursor, position: int) -> None:
    c.execute("DELETE FROM cs_versions WHERE secret_id = ? AND version_id = ?",
              (e.originator_id.hex, e.version_id))


@on(SecretAccessed)
def _secret_accessed(view: Any, e: SecretAccessed, c: SQLiteCursor, position: int) -> None:
    day = to_micros(e.day)
    c.execute("UPDATE cs_versions SET last_accessed = ? WHERE secret_id = ? AND "
              "version_id = ?", (day, e.originator_id.hex, e.version_id))
    _update(c, e, touch=False, last_accessed=day)


@on(KeyCreated)
def _key_created(view: Any, e: KeyCreated, c: SQLiteCursor, position: int) -> None:
    c.execute("INSERT INTO cs_kms_keys VALUES (?, ?, ?, ?, ?, 'Enabled', NULL, ?)",
              (e.originator_id.hex, e.key_id, e.arn, e.description, e.key_manager,
               to_micros(e.timestamp)))


@on(KeyStateChanged)
def _key_state_changed(view: Any, e: KeyStateChanged, c: SQLiteCursor, position: int) -> None:
    deletion = None if e.deletion_date is None else to_micros(e.deletion_date)
    c.execute("UPDATE cs_kms_keys SET state = ?, deletion_date = ? WHERE aggregate_id = ?",
              (e.state, deletion, e.originator_id.hex))


@on(AliasAssigned)
def _alias_assigned(view: Any, e: AliasAssigned, c: SQLiteCursor, position: int) -> None:
    c.execute("INSERT INTO cs_kms_aliases VALUES (?, ?, ?) ON CONFLICT (aggregate_id) "
              "DO UPDATE SET alias = excluded.alias, key_id = excluded.key_id",
              (e.originator_id.hex, e.alias, e.key_id))


@on(AliasRetargeted)
def _alias_retargeted(view: Any, e: AliasRetargeted, c: SQLiteCursor, position: int) -> None:
    c.execute("UPDATE cs_kms_aliases SET key_id = ? WHERE aggregate_id = ?",
              (e.key_id, e.originator_id.hex))


def _update(c: SQLiteCursor, e: Any, *, touch: bool, **columns: Any) -> None:
    """One UPDATE of the secret's row; `touch` moves LastChangedDate, as every change of
    value, labels, key, description, tags or deletion state does."""
    if touch:
        columns["last_changed_at"] = to_micros(e.timestamp)
    assignments = ", ".join(f"{column} = ?" for column in columns)
    c.execute(f"UPDATE cs_secrets SET {assignments} WHERE secret_id = ?",
              (*columns.values(), e.originator_id.hex))


def _upsert_tags(c: SQLiteCursor, secret_id: str, pairs: list[list[str]], position: int) -> None:
    c.executemany("INSERT INTO cs_tags VALUES (?, ?, ?, ?) ON CONFLICT (secret_id, key) "
                  "DO UPDATE SET value = excluded.value",
                  [(secret_id, key, value, position * SEQ_STRIDE + i)
                   for i, (key, value) in enumerate(pairs)])
