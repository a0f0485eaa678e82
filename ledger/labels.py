"""Staging-label rules as pure functions over `{label: version_id}`.

Each function returns the moves to record, `(label, from_version, to_version)`, and changes
nothing itself. AWSCURRENT moving always carries AWSPREVIOUS to the version it left.
"""
from __future__ import annotations

from ledger.errors import InvalidParameterException, LimitExceededException

CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"
Move = tuple[str, "str | None", "str | None"]


def _current_moves(labels: dict[str, str], to_version: str) -> list[Move]:
    old = labels.get(CURRENT)
    if old == to_version:
        return []
    moves: list[Move] = [(CURRENT, old, to_version)]
    if old is not None and labels.get(PREVIOUS) != old:
        moves.append((PREVIOUS, labels.get(PREVIOUS), old))
    return moves


def _attach(labels: dict[str, str], label: str, to_version: str) -> list[Move]:
    if label == CURRENT:
        return _current_moves(labels, to_version)
    if labels.get(label) == to_version:
        return []
    return [(label, labels.get(label), to_version)]


def for_new_value(labels: dict[str, str], version_id: str, stages: list[str] | None) -> list[Move]:
    """Labels for a freshly written version.

    Without explicit stages the version becomes AWSCURRENT, and a pending rotation is abandoned
    (AWSPENDING removed). A secret's first value is AWSCURRENT whatever the stages say. When
    AWSCURRENT moves here, AWSPREVIOUS goes to the version it left even if the stages also
    name AWSPREVIOUS: the automatic rule must not depend on the order of the list.
    """
    if stages is None:
        moves = _current_moves(labels, version_id)
        pending = labels.get(PENDING)
        if pending is not None and pending != version_id:
            moves.append((PENDING, pending, None))
        return moves
    wanted = list(dict.fromkeys(stages))
    if CURRENT not in labels and CURRENT not in wanted:
        wanted.insert(0, CURRENT)
    if CURRENT in wanted and CURRENT in labels and PREVIOUS in wanted:
        wanted.remove(PREVIOUS)
    moves = []
    for label in wanted:
        moves += _attach(_after(labels, moves), label, version_id)
    return moves


def for_stage_update(labels: dict[str, str], label: str, remove_from: str | None,
                     move_to: str | None) -> list[Move]:
    """UpdateSecretVersionStage: the caller must name the current holder to take a label away."""
    holder = labels.get(label)
    if remove_from is not None and holder != remove_from:
        raise InvalidParameterException(f"Version stage {label} not found in version {remove_from}.")
    if move_to is None:
        if remove_from is None:
            raise InvalidParameterException(
                "You must specify RemoveFromVersionId, MoveToVersionId, or both.")
        if label == CURRENT:
            raise InvalidParameterException(
                "You can't remove the staging label AWSCURRENT from a version without moving it "
                "to another version with MoveToVersionId.")
        return [(label, holder, None)]
    if holder is not None and holder != move_to and holder != remove_from:
        raise InvalidParameterException(
            f"The parameter RemoveFromVersionId can't be empty. Staging label {label} is currently "
            f"attached to version {holder}, so you must explicitly reference that version in "
            "RemoveFromVersionId.")
    return _attach(labels, label, move_to)


def _after(labels: dict[str, str], moves: list[Move]) -> dict[str, str]:
    result = dict(labels)
    for label, _, to_version in moves:
        if to_version is None:
            result.pop(label, None)
        else:
            result[label] = to_version
    return result


def check_label_quota(labels: dict[str, str], moves: list[Move], limit: int) -> None:
    if len(_after(labels, moves)) > limit:
        raise LimitExceededException(
            f"A secret can have at most {limit} staging labels across all of its versions.")
