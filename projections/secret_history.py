"""Reading the current-state view's history tables: states as of a time or a log position.

A bound cuts each stream into a prefix: every event at or before a position, or every event
before the first one stamped after a time (`at_max <= T`, since `at_max` only grows along a
stream). The state after that prefix is the nearest checkpoint at or before its last event plus
the changes after the checkpoint, fewer than `CHECKPOINT_EVERY`: three indexed queries and a
short fold, whatever the length of the history.
"""
from __future__ import annotations

from typing import Any, Protocol

from ledger.codec import unpack
from projections import secret_fold
from projections.secret_fold import SecretState

_END = 2**62


class BoundLike(Protocol):
    """`point_in_time.Bound`: a log position, or else a time (`at_micros`)."""

    @property
    def position(self) -> int | None: ...

    @property
    def at_micros(self) -> int: ...


def cut(cursor: Any, secret_id: str, bound: BoundLike) -> tuple[int, int] | None:
    """(position, stream version) of the secret's last event within the bound, if any."""
    if bound.position is not None:
        cursor.execute("SELECT position, version FROM cs_secret_events WHERE secret_id = ? "
                       "AND position <= ? ORDER BY position DESC LIMIT 1",
                       (secret_id, bound.position))
    else:
        # Between the last checkpoint within the bound and the first one past it lie fewer
        # than CHECKPOINT_EVERY events: the cut is among them.
        at = bound.at_micros
        cursor.execute("SELECT position FROM cs_secret_checkpoints WHERE secret_id = ? "
                       "AND at_max <= ? ORDER BY at_max DESC, position DESC LIMIT 1",
                       (secret_id, at))
        within = cursor.fetchone()
        cursor.execute("SELECT position FROM cs_secret_checkpoints WHERE secret_id = ? "
                       "AND at_max > ? ORDER BY at_max, position LIMIT 1", (secret_id, at))
        past = cursor.fetchone()
        cursor.execute("SELECT position, version FROM cs_secret_events WHERE secret_id = ? "
                       "AND position >= ? AND position < ? AND at_max <= ? "
                       "ORDER BY position DESC LIMIT 1",
                       (secret_id, within[0] if within else 0, past[0] if past else _END, at))
    row = cursor.fetchone()
    return (row[0], row[1]) if row is not None else None


def state_as_of(cursor: Any, secret_id: str, bound: BoundLike) -> SecretState | None:
    """The secret's state after its events within the bound; None if it had none."""
    found = cut(cursor, secret_id, bound)
    return None if found is None else state_at(cursor, secret_id, found[0])


def state_at(cursor: Any, secret_id: str, position: int) -> SecretState:
    """The secret's state right after its event at `position`."""
    cursor.execute("SELECT position, state FROM cs_secret_checkpoints WHERE secret_id = ? "
                   "AND position <= ? ORDER BY position DESC LIMIT 1", (secret_id, position))
    checkpoint = cursor.fetchone()
    state = None if checkpoint is None else SecretState.from_checkpoint(secret_id, checkpoint[1])
    cursor.execute("SELECT position, version, at, change FROM cs_secret_events "
                   "WHERE secret_id = ? AND position > ? AND position <= ? ORDER BY position",
                   (secret_id, 0 if checkpoint is None else checkpoint[0], position))
    for at_position, version, at, change in cursor.fetchall():
        decoded = None if change is None else unpack(bytes(change))
        if state is None:
            if decoded is None or decoded[0] != "C":
                raise ValueError(f"history of secret {secret_id} does not begin with its creation")
            state = secret_fold.start(secret_id, decoded, at_position, at)
        else:
            secret_fold.apply(state, decoded, at_position, version, at)
    if state is None:
        raise ValueError(f"no history of secret {secret_id} at position {position}")
    return state


def label_moves(cursor: Any, secret_id: str, up_to: int) -> list[tuple[Any, ...]]:
    """(label, position, at, from, to, by, request id, operation) up to a position."""
    cursor.execute("SELECT label, position, at, from_version, to_version, by_arn, request_id, "
                   "operation FROM cs_label_moves WHERE secret_id = ? AND position <= ? "
                   "ORDER BY position", (secret_id, up_to))
    return [tuple(row) for row in cursor.fetchall()]


def secrets_as_of(cursor: Any, bound: BoundLike) -> list[SecretState]:
    """Every secret that existed within the bound and was not finally deleted by then, in
    the order they were created."""
    if bound.position is not None:
        cursor.execute("SELECT secret_id FROM cs_secrets WHERE position <= ? ORDER BY position",
                       (bound.position,))
    else:
        cursor.execute("SELECT secret_id FROM cs_secrets WHERE created_at <= ? "
                       "ORDER BY position", (bound.at_micros,))
    states = []
    for (secret_id,) in cursor.fetchall():
        state = state_as_of(cursor, secret_id, bound)
        if state is not None and not state.deleted:
            states.append(state)
    return states


def kms_keys_as_of(cursor: Any, bound: BoundLike) -> list[dict[str, Any]]:
    """Every KMS key that existed within the bound, with its state then."""
    cursor.execute("SELECT aggregate_id, key_id, arn, key_manager, created_at FROM cs_kms_keys")
    keys = []
    for aggregate_id, key_id, arn, key_manager, created_at in cursor.fetchall():
        if bound.position is not None:
            cursor.execute("SELECT state FROM cs_kms_key_events WHERE aggregate_id = ? "
                           "AND position <= ? ORDER BY position DESC LIMIT 1",
                           (aggregate_id, bound.position))
        else:
            cursor.execute("SELECT state FROM cs_kms_key_events WHERE aggregate_id = ? "
                           "AND at_max <= ? ORDER BY position DESC LIMIT 1",
                           (aggregate_id, bound.at_micros))
        row = cursor.fetchone()
        if row is not None:
            keys.append((created_at, key_id, {"keyId": key_id, "arn": arn, "state": row[0],
                                              "keyManager": key_manager}))
    return [entry for _, _, entry in sorted(keys, key=lambda k: (k[0], k[1]))]
