"""The current-state view: secrets, versions, labels, tags, deletion state and KMS keys, with
the history that answers "as of then" from a few indexed rows.

Tables that show the present (`cs_secrets`, `cs_versions`, `cs_labels`, `cs_tags`) serve
DescribeSecret and the listings. History is kept beside them:

    cs_secret_events       one row per secret event: its position, stream version, time, the
                           latest time so far in the stream (`at_max`: it only grows, so "as
                           of T" cuts a stream where a clock stepped back too) and its change
                           (`secret_fold`)
    cs_secret_checkpoints  the whole state every CHECKPOINT_EVERY events of a secret, indexed by
                           position and by `at_max`
    cs_label_moves         who moved which label when
    cs_kms_key_events      each KMS key's state after each of its events

The state as of any position is the nearest checkpoint plus fewer than CHECKPOINT_EVERY changes,
however long the secret's history.

A batch is folded in memory (`secret_fold.apply`, the same fold as-of uses) and written with one
`executemany` per table: a secret changed a thousand times in a batch is written once. Folded
states are kept for the next batch while the store's position for the view says they are
current, so read-your-writes catch-ups do not reload the secret they just wrote.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from eventsourcing.utils import get_topic

from ledger.codec import pack
from ledger.events import SECRET_EVENTS, LabelMoved, SecretCreated
from ledger.keys.kms_key import AliasAssigned, AliasRetargeted, KeyCreated, KeyStateChanged
from projections import secret_fold
from projections.secret_fold import SecretState
from projections.secret_view import to_micros

CHECKPOINT_EVERY = 32  # as-of folds at most this many changes minus one
CACHE_SIZE = 4096  # folded secrets kept between batches
_CHUNK = 500  # ids per IN (...) list

DDL = [
    "CREATE TABLE IF NOT EXISTS cs_secrets (secret_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "arn TEXT NOT NULL, description TEXT, kms_key_id TEXT, owning_service TEXT, "
    "has_tags INTEGER NOT NULL, created_at INTEGER NOT NULL, last_changed_at INTEGER NOT NULL, "
    "last_accessed INTEGER, deletion_requested_at INTEGER, deletion_after INTEGER, "
    "deletion_forced INTEGER, deleted INTEGER NOT NULL, position INTEGER NOT NULL, "
    "version INTEGER NOT NULL, at_max INTEGER NOT NULL)",
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
    "by_arn TEXT, request_id TEXT, operation TEXT, PRIMARY KEY (secret_id, position)) "
    "WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS cs_secret_events (secret_id TEXT NOT NULL, "
    "position INTEGER NOT NULL, version INTEGER NOT NULL, at INTEGER NOT NULL, "
    "at_max INTEGER NOT NULL, change BLOB, PRIMARY KEY (secret_id, position)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS cs_secret_checkpoints (secret_id TEXT NOT NULL, "
    "position INTEGER NOT NULL, version INTEGER NOT NULL, at_max INTEGER NOT NULL, "
    "state BLOB NOT NULL, PRIMARY KEY (secret_id, position)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS cs_secret_checkpoints_by_time "
    "ON cs_secret_checkpoints (secret_id, at_max)",
    "CREATE TABLE IF NOT EXISTS cs_kms_keys (aggregate_id TEXT PRIMARY KEY, "
    "key_id TEXT NOT NULL UNIQUE, arn TEXT NOT NULL, "
    "description TEXT, key_manager TEXT, state TEXT NOT NULL, deletion_date INTEGER, "
    "created_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cs_kms_key_events (aggregate_id TEXT NOT NULL, "
    "position INTEGER NOT NULL, at_max INTEGER NOT NULL, state TEXT NOT NULL, "
    "deletion_date INTEGER, PRIMARY KEY (aggregate_id, position))",
    "CREATE TABLE IF NOT EXISTS cs_kms_aliases (aggregate_id TEXT PRIMARY KEY, "
    "alias TEXT NOT NULL UNIQUE, key_id TEXT)",
]

TABLES = {
    "cs_secrets": "secret_id", "cs_versions": "secret_id, version_id",
    "cs_labels": "secret_id, label", "cs_tags": "secret_id, key",
    "cs_label_moves": "secret_id, position", "cs_secret_events": "secret_id, position",
    "cs_secret_checkpoints": "secret_id, position", "cs_kms_keys": "aggregate_id",
    "cs_kms_key_events": "aggregate_id, position", "cs_kms_aliases": "aggregate_id",
}

_SECRET_TYPES = frozenset(SECRET_EVENTS)
_SECRET_COLUMNS = ("secret_id, name, arn, owning_service, created_at, position, description, "
                   "kms_key_id, has_tags, last_changed_at, last_accessed, "
                   "deletion_requested_at, deletion_after, deletion_forced, deleted, version, "
                   "at_max")
_UPSERT_SECRET = (
    "INSERT INTO cs_secrets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (secret_id) DO UPDATE SET description = excluded.description, "
    "kms_key_id = excluded.kms_key_id, has_tags = excluded.has_tags, "
    "last_changed_at = excluded.last_changed_at, last_accessed = excluded.last_accessed, "
    "deletion_requested_at = excluded.deletion_requested_at, "
    "deletion_after = excluded.deletion_after, deletion_forced = excluded.deletion_forced, "
    "deleted = excluded.deleted, version = excluded.version, at_max = excluded.at_max")
_UPSERT_VERSION = (
    "INSERT INTO cs_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (secret_id, version_id) DO UPDATE SET seq = excluded.seq, "
    "created_at = excluded.created_at, value_type = excluded.value_type, "
    "fingerprint = excluded.fingerprint, key_arn = excluded.key_arn, "
    "last_accessed = excluded.last_accessed, request_id = excluded.request_id")
_UPSERT_LABEL = ("INSERT INTO cs_labels VALUES (?, ?, ?, ?) ON CONFLICT (secret_id, label) "
                 "DO UPDATE SET version_id = excluded.version_id, seq = excluded.seq")
_UPSERT_TAG = ("INSERT INTO cs_tags VALUES (?, ?, ?, ?) ON CONFLICT (secret_id, key) "
               "DO UPDATE SET value = excluded.value, seq = excluded.seq")


class CurrentStateView:
    name = "view:current_state"
    topics = tuple(get_topic(cls) for cls in (*SECRET_EVENTS, KeyCreated, KeyStateChanged,
                                              AliasAssigned, AliasRetargeted))
    ddl = DDL
    tables = TABLES

    def __init__(self) -> None:
        self._states: dict[str, SecretState] = {}
        self._valid_at = -1  # the view position the cached states belong to

    def process(self, cursor: Any, events: Sequence[tuple[int, Any]], start: int,
                reached: int) -> None:
        if start != self._valid_at:
            self._states.clear()
        self._valid_at = -1  # until this batch has been folded completely
        batch = _Batch(cursor, self._states)
        batch.load([e for _, e in events if type(e) in _SECRET_TYPES])
        for position, event in events:
            if type(event) in _SECRET_TYPES:
                batch.secret_event(position, event)
            else:
                handler = _KMS_HANDLERS.get(type(event))
                if handler is not None:
                    handler(event, cursor, position)
        batch.write()
        if len(self._states) > CACHE_SIZE:
            for secret_id in list(self._states)[:len(self._states) - CACHE_SIZE // 2]:
                del self._states[secret_id]
        self._valid_at = reached


class _Batch:
    """One transaction's worth of secret events: folded in memory, then written."""

    def __init__(self, cursor: Any, states: dict[str, SecretState]) -> None:
        self.cursor, self.states = cursor, states
        self.touched: dict[str, SecretState] = {}
        self.event_rows: list[tuple[Any, ...]] = []
        self.checkpoint_rows: list[tuple[Any, ...]] = []
        self.move_rows: list[tuple[Any, ...]] = []

    def load(self, events: Iterable[Any]) -> None:
        """Read the stored state of every secret the batch changes that is not cached yet
        (a secret the batch creates has none)."""
        first: dict[str, type] = {}
        for event in events:
            first.setdefault(event.originator_id.hex, type(event))
        ids = [secret_id for secret_id, kind in first.items()
               if kind is not SecretCreated and secret_id not in self.states]
        for i in range(0, len(ids), _CHUNK):
            self.states.update(load_states(self.cursor, ids[i:i + _CHUNK]))

    def secret_event(self, position: int, event: Any) -> None:
        secret_id = event.originator_id.hex
        version = event.originator_version
        at = to_micros(event.timestamp)
        change = secret_fold.change_of(event)
        if type(event) is SecretCreated:
            state = self.states[secret_id] = secret_fold.start(secret_id, change or [],
                                                                position, at)
        else:
            state = self.states[secret_id]
            secret_fold.apply(state, change, position, version, at)
        self.touched[secret_id] = state
        self.event_rows.append((secret_id, position, version, at, state.at_max,
                                None if change is None else pack(change)))
        if version % CHECKPOINT_EVERY == 0:
            self.checkpoint_rows.append((secret_id, position, version, state.at_max,
                                         state.checkpoint()))
        if type(event) is LabelMoved:
            caller = event.context.get("caller") or {}
            self.move_rows.append((secret_id, event.label, position, at, event.from_version,
                                   event.to_version, caller.get("arn"),
                                   event.context.get("request_id"),
                                   event.context.get("operation")))

    def write(self) -> None:
        c = self.cursor
        self.event_rows.sort(key=itemgetter(0, 1))  # key order: each insert lands beside
        self.move_rows.sort(key=itemgetter(0, 2))  # the one before, in the same page
        _many(c, "INSERT INTO cs_secret_events VALUES (?, ?, ?, ?, ?, ?)", self.event_rows)
        _many(c, "INSERT INTO cs_secret_checkpoints VALUES (?, ?, ?, ?, ?)", self.checkpoint_rows)
        _many(c, "INSERT INTO cs_label_moves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.move_rows)
        secrets, versions, labels, tags = [], [], [], []
        gone_versions, gone_labels, gone_tags = [], [], []
        for secret_id, s in self.touched.items():
            deletion = s.deletion or (None, None, None)
            secrets.append((secret_id, s.name, s.arn, s.description, s.kms_key_id,
                            s.owning_service, int(s.has_tags), s.created_at, s.last_changed_at,
                            s.last_accessed, deletion[0], deletion[1],
                            None if deletion[2] is None else int(deletion[2]), int(s.deleted),
                            s.position, s.version, s.at_max))
            _dirty_rows(secret_id, s.dirty_versions, s.versions, versions, gone_versions)
            _dirty_rows(secret_id, s.dirty_labels, s.labels, labels, gone_labels)
            _dirty_rows(secret_id, s.dirty_tags, s.tags, tags, gone_tags)
            s.dirty_versions, s.dirty_labels, s.dirty_tags = set(), set(), set()
        _many(c, _UPSERT_SECRET, secrets)
        _many(c, "DELETE FROM cs_versions WHERE secret_id = ? AND version_id = ?", gone_versions)
        _many(c, _UPSERT_VERSION, versions)
        _many(c, "DELETE FROM cs_labels WHERE secret_id = ? AND label = ?", gone_labels)
        _many(c, _UPSERT_LABEL, labels)
        _many(c, "DELETE FROM cs_tags WHERE secret_id = ? AND key = ?", gone_tags)
        _many(c, _UPSERT_TAG, tags)


def _dirty_rows(secret_id: str, dirty: set[str], current: Mapping[str, Sequence[Any]],
                upserts: list[tuple[Any, ...]], deletes: list[tuple[Any, ...]]) -> None:
    """For each changed key of one of a secret's tables: its row to upsert, or its deletion
    when the key is gone."""
    for key in dirty:
        row = current.get(key)
        if row is None:
            deletes.append((secret_id, key))
        else:
            upserts.append((secret_id, key, *row))


def _many(cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        cursor.executemany(sql, rows)


def load_states(cursor: Any, ids: list[str]) -> dict[str, SecretState]:
    """The stored current state of the given secrets (those the view holds)."""
    marks = ",".join("?" * len(ids))
    cursor.execute(f"SELECT {_SECRET_COLUMNS} FROM cs_secrets WHERE secret_id IN ({marks})",
                   ids)
    states: dict[str, SecretState] = {}
    for r in cursor.fetchall():
        deletion = None if r[11] is None else [r[11], r[12], bool(r[13])]
        states[r[0]] = SecretState(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]),
            last_changed_at=r[9], last_accessed=r[10], deletion=deletion, deleted=bool(r[14]),
            version=r[15], at_max=r[16])
    if not states:
        return states
    cursor.execute("SELECT secret_id, version_id, seq, created_at, value_type, fingerprint, "
                   f"key_arn, last_accessed, request_id FROM cs_versions WHERE secret_id IN "
                   f"({marks}) ORDER BY seq", ids)
    for r in cursor.fetchall():
        states[r[0]].versions[r[1]] = list(r[2:])
    cursor.execute(f"SELECT secret_id, label, version_id, seq FROM cs_labels WHERE secret_id IN "
                   f"({marks}) ORDER BY seq", ids)
    for r in cursor.fetchall():
        states[r[0]].labels[r[1]] = [r[2], r[3]]
    cursor.execute(f"SELECT secret_id, key, value, seq FROM cs_tags WHERE secret_id IN "
                   f"({marks}) ORDER BY seq", ids)
    for r in cursor.fetchall():
        states[r[0]].tags[r[1]] = [r[2], r[3]]
    return states


# ---- KMS keys and aliases: rare events, written as they come -------------------------------

KmsHandler = Callable[[Any, Any, int], None]


def _key_created(e: KeyCreated, c: Any, position: int) -> None:
    at = to_micros(e.timestamp)
    c.execute("INSERT INTO cs_kms_keys VALUES (?, ?, ?, ?, ?, 'Enabled', NULL, ?)",
              (e.originator_id.hex, e.key_id, e.arn, e.description, e.key_manager, at))
    c.execute("INSERT INTO cs_kms_key_events VALUES (?, ?, ?, 'Enabled', NULL)",
              (e.originator_id.hex, position, at))


def _key_state_changed(e: KeyStateChanged, c: Any, position: int) -> None:
    key = e.originator_id.hex
    deletion = None if e.deletion_date is None else to_micros(e.deletion_date)
    c.execute("UPDATE cs_kms_keys SET state = ?, deletion_date = ? WHERE aggregate_id = ?",
              (e.state, deletion, key))
    c.execute("SELECT at_max FROM cs_kms_key_events WHERE aggregate_id = ? "
              "ORDER BY position DESC LIMIT 1", (key,))
    row = c.fetchone()
    at = to_micros(e.timestamp)
    at_max = at if row is None else max(row[0], at)
    c.execute("INSERT INTO cs_kms_key_events VALUES (?, ?, ?, ?, ?)",
              (key, position, at_max, e.state, deletion))


def _alias_assigned(e: AliasAssigned, c: Any, position: int) -> None:
    c.execute("INSERT INTO cs_kms_aliases VALUES (?, ?, ?) ON CONFLICT (aggregate_id) "
              "DO UPDATE SET alias = excluded.alias, key_id = excluded.key_id",
              (e.originator_id.hex, e.alias, e.key_id))


def _alias_retargeted(e: AliasRetargeted, c: Any, position: int) -> None:
    c.execute("UPDATE cs_kms_aliases SET key_id = ? WHERE aggregate_id = ?",
              (e.key_id, e.originator_id.hex))


_KMS_HANDLERS: dict[type, KmsHandler] = {
    KeyCreated: _key_created, KeyStateChanged: _key_state_changed,
    AliasAssigned: _alias_assigned, AliasRetargeted: _alias_retargeted,
}
