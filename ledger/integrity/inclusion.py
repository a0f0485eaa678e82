"""Building an inclusion proof: one event, its Merkle audit path, and the digest that signed it.

The proof carries the event's stored bytes (values are only ever in events sealed), so the
checker re-derives the event's hash itself; `proof.check_proof` needs nothing else but the
public key.
"""
from __future__ import annotations

import base64
from typing import Any

from ledger.integrity.digest import Digest
from ledger.integrity.merkle import audit_path
from ledger.integrity.proof import PROOF_FORMAT, leaf_hash
from ledger.integrity.ranges import content_hash
from ledger.integrity.store import IntegrityStore


class ProofUnavailable(Exception):
    """The event does not exist, or no digest covers it yet."""


def resolve_position(store: IntegrityStore, event_ref: str) -> int:
    """A notification id, or `originator_id:version`."""
    if event_ref.isdigit():
        return int(event_ref)
    oid, _, version = event_ref.rpartition(":")
    if not oid or not version.isdigit():
        raise ProofUnavailable(f"{event_ref!r} is neither a log position nor originator_id:version")
    position = store.position_of(oid.replace("-", "").lower(), int(version))
    if position is None:
        raise ProofUnavailable(f"no event {event_ref}")
    return position


def build_proof(store: IntegrityStore, event_ref: str) -> dict[str, Any]:
    position = resolve_position(store, event_ref)
    rows = list(store.chain_rows(position - 1, position))
    if not rows or rows[0].position != position:
        raise ProofUnavailable(f"no event at log position {position}")
    row = rows[0]
    digest = _covering(store, position)
    hashed = list(store.hashed_events(digest.start_position - 1, digest.end_position))
    index = next((i for i, h in enumerate(hashed) if h[0] == position), None)
    if index is None:
        raise ProofUnavailable(f"the event at log position {position} has no recorded hash")
    leaves = [leaf_hash(p, event_hash) for p, _, _, event_hash in hashed]
    return {
        "format": PROOF_FORMAT,
        "event": {
            "position": position, "originator_id": row.originator_id,
            "originator_version": row.version, "topic": row.topic,
            "state": base64.b64encode(row.state).decode(),
            "previous_hash": (row.previous_hash or b"").hex(), "hash": content_hash(row).hex(),
        },
        "leaf_index": index, "tree_size": len(leaves),
        "audit_path": [h.hex() for h in audit_path(index, leaves)],
        "digest": {"sequence": digest.sequence, "body": digest.body.decode(),
                   "signature": digest.signature.hex()},
    }


def _covering(store: IntegrityStore, position: int) -> Digest:
    for stored in store.digests():
        digest = Digest.of(stored)
        try:
            if digest.start_position <= position <= digest.end_position:
                return digest
        except (ValueError, KeyError):
            continue
    raise ProofUnavailable(f"log position {position} is not yet covered by a digest; "
                           "write one with `secrets-ledger digest`")
