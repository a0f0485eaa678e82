"""The state of one secret, or of the whole ledger, as of a time or a log position.

Answered from the current-state view's history tables (`secret_history`): the bound cuts each
stream into a prefix, and the state after that prefix is a checkpoint plus a few changes, so a
secret with ten thousand events costs what one with ten does. "As of T" is the prefix of a stream
before its first event stamped after T; "as of position N" is every event at or before
notification N. `eventsReplayed` keeps its meaning: the length of that prefix.

The bounded replays that once answered these questions stay here as the references the tests
hold the indexed answers to: `secret_as_of_replayed` folds the secret's events into the
aggregate, `ledger_as_of_replayed` replays the log into a scratch view.

A value as of then is only ever read through an audited `GetSecretValue` by VersionId, as the
asking caller: versions never change, so that is the value as of then, the read is recorded like
any other, and a shredded version (its data key destroyed) says so instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from eventsourcing.sqlite import SQLiteCursor

from ledger.context import Caller
from ledger.errors import SECRET_NOT_FOUND, LedgerError, ResourceNotFoundException
from ledger.events import LabelMoved
from ledger.names import parse_secret_id
from projections import current_queries, secret_history
from projections.current_state import CurrentStateView
from projections.runner import Batch, catch_up
from projections.secret_view import from_micros, to_micros
from projections.store import open_store

if TYPE_CHECKING:
    from ledger.application import SecretsLedger


@dataclass(frozen=True)
class Bound:
    """Exactly one of a time and a log position."""

    at: datetime | None = None
    position: int | None = None

    def __post_init__(self) -> None:
        if (self.at is None) == (self.position is None):
            raise ValueError("give exactly one of a time and a log position")

    def as_json(self) -> dict[str, Any]:
        return {"at": iso(self.at)} if self.at is not None else {"position": self.position}

    @property
    def at_micros(self) -> int:
        assert self.at is not None
        return to_micros(self.at)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


# ---- one secret -----------------------------------------------------------------------------

def secret_as_of(ledger: SecretsLedger, secret_id: str, bound: Bound) -> dict[str, Any]:
    """The secret's state within `bound` plus the history of every label move up to then."""
    read_models = ledger.read_models
    read_models.refresh(read_models.current)
    with read_models.store.reading() as cursor:
        uuid_ = _resolve(cursor, secret_id, bound)
        found = secret_history.cut(cursor, uuid_.hex, bound)
        if found is None:
            raise ResourceNotFoundException(SECRET_NOT_FOUND)
        position, version = found
        secret = secret_history.state_at(cursor, uuid_.hex, position).view()
        moves = secret_history.label_moves(cursor, uuid_.hex, position)
    state = describe(secret, ledger)
    state["asOf"] = bound.as_json()
    state["eventsReplayed"] = version
    state["labelHistory"] = [{"label": m[0], "at": iso(from_micros(m[2])), "fromVersion": m[3],
                              "toVersion": m[4], "by": m[5], "requestId": m[6],
                              "operation": m[7]} for m in moves]
    return state


def secret_as_of_replayed(ledger: SecretsLedger, secret_id: str, bound: Bound) -> dict[str, Any]:
    """`secret_as_of` by a bounded replay of the secret's events into the aggregate."""
    read_models = ledger.read_models
    read_models.refresh(read_models.current)
    with read_models.store.reading() as cursor:
        uuid_ = _resolve(cursor, secret_id, bound)
        count = _events_within(cursor, uuid_, bound)
    if not count:
        raise ResourceNotFoundException(SECRET_NOT_FOUND)
    events = list(ledger.events.get(uuid_, lte=count))
    secret: Any = None
    for event in events:
        secret = cast(Any, event).mutate(secret)
    state = describe(secret, ledger)
    state["asOf"] = bound.as_json()
    state["eventsReplayed"] = len(events)
    state["labelHistory"] = [_label_move(e) for e in events if isinstance(e, LabelMoved)]
    return state


def value_as_of(ledger: SecretsLedger, state: dict[str, Any], caller: Caller,
                label: str = "AWSCURRENT") -> dict[str, Any]:
    """The value the label pointed at then, read now through an audited GetSecretValue."""
    version_id = state["labels"].get(label)
    if version_id is None:
        return {"label": label, "error": f"no version held {label} then"}
    version = next(v for v in state["versions"] if v["versionId"] == version_id)
    answer: dict[str, Any] = {"label": label, "versionId": version_id}
    if version["shredded"]:
        answer["shredded"] = True
        answer["error"] = "the version's data key was destroyed; its value is unrecoverable"
        return answer
    try:
        response = ledger.call("GetSecretValue", {"SecretId": state["arn"], "VersionId": version_id},
                               caller, user_agent="secrets-ledger-inspect")
    except LedgerError as error:
        answer["error"] = f"{error.code}: {error.message}"
        return answer
    for member in ("SecretString", "SecretBinary"):
        if member in response:
            answer[member] = response[member]
    return answer


def label_history(ledger: SecretsLedger, secret_id: str, label: str | None = None,
                  bound: Bound | None = None) -> list[dict[str, Any]]:
    """Who moved which label when, from the view's index (no replay)."""
    read_models = ledger.read_models
    read_models.refresh(read_models.current)
    with read_models.store.reading() as cursor:
        uuid_ = _resolve(cursor, secret_id, bound or Bound(position=2**62))
        sql = ("SELECT label, position, at, from_version, to_version, by_arn, request_id, "
               "operation FROM cs_label_moves WHERE secret_id = ?")
        params: list[Any] = [uuid_.hex]
        if label is not None:
            sql += " AND label = ?"
            params.append(label)
        if bound is not None and bound.position is not None:
            sql += " AND position <= ?"
            params.append(bound.position)
        elif bound is not None and bound.at is not None:
            sql += " AND at <= ?"
            params.append(bound.at_micros)
        cursor.execute(sql + " ORDER BY position", params)
        return [{"label": r[0], "position": r[1], "at": iso(from_micros(r[2])),
                 "fromVersion": r[3], "toVersion": r[4], "by": r[5], "requestId": r[6],
                 "operation": r[7]} for r in cursor.fetchall()]


def _resolve(cursor: SQLiteCursor, secret_id: str, bound: Bound) -> UUID:
    """The secret the name or ARN meant then: the latest one by that name created by then."""
    ref = parse_secret_id(secret_id)
    for name in ref.candidate_names:
        cursor.execute("SELECT secret_id, name, arn FROM cs_secrets WHERE name = ? "
                       + ("AND position <= ?" if bound.position is not None
                          else "AND created_at <= ?") + " ORDER BY position DESC",
                       (name, bound.position if bound.position is not None
                        else bound.at_micros))
        for row in cursor.fetchall():
            if ref.accepts(row[1], row[2]):
                return UUID(row[0])
    raise ResourceNotFoundException(SECRET_NOT_FOUND)


def _events_within(cursor: SQLiteCursor, secret_id: UUID, bound: Bound) -> int:
    """How many of the secret's events (a prefix of its stream) lie within the bound."""
    if bound.position is not None:
        cursor.execute("SELECT MAX(version) FROM cs_secret_events WHERE secret_id = ? "
                       "AND position <= ?", (secret_id.hex, bound.position))
        return cursor.fetchone()[0] or 0
    cursor.execute("SELECT MIN(version) FROM cs_secret_events WHERE secret_id = ? AND at > ?",
                   (secret_id.hex, bound.at_micros))
    first_after = cursor.fetchone()[0]
    if first_after is not None:
        return first_after - 1
    cursor.execute("SELECT MAX(version) FROM cs_secret_events WHERE secret_id = ?",
                   (secret_id.hex,))
    return cursor.fetchone()[0] or 0


def _label_move(event: LabelMoved) -> dict[str, Any]:
    caller = event.context.get("caller") or {}
    return {"label": event.label, "at": iso(event.timestamp), "fromVersion": event.from_version,
            "toVersion": event.to_version, "by": caller.get("arn"),
            "requestId": event.context.get("request_id"),
            "operation": event.context.get("operation")}


def describe(secret: Any, ledger: SecretsLedger | None) -> dict[str, Any]:
    """A secret (aggregate or view) as inspection JSON; never a value or a ciphertext.

    With a ledger, each version also says whether its data key still exists.
    """
    versions = []
    for version in secret.versions.values():
        entry = {"versionId": version.version_id, "createdDate": iso(version.created_at),
                 "stages": secret.stages_of(version.version_id),
                 "keyArn": version.sealed.key_arn, "valueType": version.sealed.value_type,
                 "fingerprint": version.sealed.fingerprint,
                 "lastAccessedDate": iso(version.last_accessed)}
        if ledger is not None:
            key_store: Any = ledger.key_store
            entry["shredded"] = key_store.data_key(secret.id.hex, version.version_id) is None
        versions.append(entry)
    deletion = None
    if secret.deletion is not None:
        deletion = {"requestedAt": iso(secret.deletion.requested_at),
                    "deleteAfter": iso(secret.deletion.delete_after),
                    "forced": secret.deletion.forced}
    return {"secretId": str(secret.id), "name": secret.name, "arn": secret.arn,
            "description": secret.description, "kmsKeyId": secret.kms_key_id,
            "tags": secret.tags, "createdDate": iso(secret.created_on),
            "lastChangedDate": iso(secret.last_changed_at), "deletion": deletion,
            "deleted": secret.deleted, "labels": dict(secret.labels), "versions": versions}


# ---- the whole ledger -----------------------------------------------------------------------

def ledger_as_of(ledger: SecretsLedger, bound: Bound) -> dict[str, Any]:
    """Every secret and KMS key as of the bound, from the view's history tables."""
    read_models = ledger.read_models
    read_models.refresh(read_models.current)
    with read_models.store.reading() as cursor:
        secrets = [state.view() for state in secret_history.secrets_as_of(cursor, bound)]
        keys = secret_history.kms_keys_as_of(cursor, bound)
    return {"asOf": bound.as_json(), "secrets": [describe(s, None) for s in secrets],
            "kmsKeys": keys}


class _UpToTime:
    """The current-state view fed only each stream's prefix stamped at or before T."""

    def __init__(self, view: CurrentStateView, at: datetime) -> None:
        self.view, self.at = view, at
        self.name, self.topics, self.ddl, self.tables = view.name, view.topics, view.ddl, view.tables
        self._stopped: set[UUID] = set()

    def process(self, cursor: SQLiteCursor, events: Batch, start: int, reached: int) -> None:
        kept = []
        for position, event in events:
            if event.originator_id in self._stopped:
                continue
            if event.timestamp > self.at:
                self._stopped.add(event.originator_id)
                continue
            kept.append((position, event))
        self.view.process(cursor, kept, start, reached)


def ledger_as_of_replayed(ledger: SecretsLedger, bound: Bound) -> dict[str, Any]:
    """`ledger_as_of` by replaying the log up to the bound into a scratch view."""
    view = CurrentStateView()
    store = open_store(None, view.ddl)
    try:
        if bound.position is not None:
            catch_up(ledger.recorder, ledger.mapper, view, store, stop=bound.position)
        else:
            assert bound.at is not None
            catch_up(ledger.recorder, ledger.mapper, _UpToTime(view, bound.at), store)
        with store.reading() as cursor:
            secrets = current_queries.live_secrets(cursor)
            cursor.execute("SELECT key_id, arn, state, key_manager FROM cs_kms_keys "
                           "ORDER BY created_at, key_id")
            keys = [{"keyId": r[0], "arn": r[1], "state": r[2], "keyManager": r[3]}
                    for r in cursor.fetchall()]
    finally:
        store.close()
    return {"asOf": bound.as_json(), "secrets": [describe(s, None) for s in secrets],
            "kmsKeys": keys}
