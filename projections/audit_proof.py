"""Each audit record shown is proven under a signed digest, or marked unproven.

`audit_check` ties a record to its event's bytes and hash-chain row, but a chain row is an
unkeyed SHA-256 that anyone who can write the database recomputes. What they cannot make is a
digest signature. So a record inside a digest's positions is shown only if the recorded
hashes of all those positions rebuild the Merkle root the digest signed, under a trusted key
(the inclusion proof `prove` prints, checked once per digest for the whole command). A record
after the last digest is shown, marked unproven. A record that no readable digest covers,
though a later one exists (a digest deleted) or one cannot be read, is refused.
"""
from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.integrity.digest import Digest
from ledger.integrity.merkle import MerkleAccumulator
from ledger.integrity.proof import key_fingerprint, leaf_hash, signature_message
from ledger.integrity.published import PublishedFiles, merged
from ledger.integrity.store import IntegrityStore
from projections.audit_check import AuditViewAltered


class RecordNotProven(AuditViewAltered):
    """A record a signed digest should prove, and does not: the log itself was altered."""

    def __init__(self, position: int, problem: str) -> None:
        Exception.__init__(self, f"the audit record at log position {position} cannot be "
                                 f"trusted: {problem}. `secrets-ledger verify` names what "
                                 "changed in the log")
        self.position = position


class RecordProver:
    """Which log positions a signed digest proves, for one command's records."""

    def __init__(self, store: IntegrityStore, keys: Sequence[Ed25519PublicKey],
                 published: PublishedFiles | None = None) -> None:
        stored = [Digest.of(row) for row in store.digests()]
        digests = merged(published, stored) if published is not None else stored
        self._store, self._keys = store, {key_fingerprint(k): k for k in keys}
        self._ranges: list[tuple[int, int, Digest]] = []
        self._unreadable: list[int] = []
        for digest in digests:
            try:
                self._ranges.append((digest.start_position, digest.end_position, digest))
            except (ValueError, KeyError, TypeError):
                self._unreadable.append(digest.sequence)
        self._ranges.sort(key=lambda r: r[0])
        self._starts = [r[0] for r in self._ranges]
        self.covered_to = max((r[1] for r in self._ranges), default=0)
        self._problems: dict[int, str | None] = {}  # digest sequence -> what is wrong
        self._rewritten: dict[int, int] = {}  # digest sequence -> first event off its tip

    def proven(self, position: int) -> bool:
        """True if a signed digest proves the record at `position`, False if it comes after
        every digest (unproven); RecordNotProven if a digest should prove it and does not."""
        index = bisect.bisect_right(self._starts, position) - 1
        if index < 0 or position > self._ranges[index][1]:
            if self._unreadable:
                raise RecordNotProven(position, f"digest {self._unreadable[0]} cannot be "
                                                 "read, so nothing shows this record is intact")
            if position <= self.covered_to:
                raise RecordNotProven(position, "no signed digest covers it, though later "
                                                 "positions have one: a digest was deleted")
            return False
        digest = self._ranges[index][2]
        if digest.sequence not in self._problems:
            self._problems[digest.sequence] = self._problem(digest)
        problem = self._problems[digest.sequence]
        if problem is not None:
            bad = self._rewritten.get(digest.sequence, position)
            shown = "" if bad == position else f" (and the record at {position} being shown)"
            raise RecordNotProven(bad, f"digest {digest.sequence}, which covers it{shown}, "
                                       f"{problem}")
        return True

    def unproven_records(self, event_ids: Sequence[str]) -> list[str]:
        """The ids (each record is version 1 of its own stream) of the records after every
        digest; RecordNotProven as `proven` says."""
        unproven = []
        for event_id in event_ids:
            position = self._store.position_of(event_id.replace("-", "").lower(), 1)
            if position is None:
                raise RecordNotProven(0, f"record {event_id} has no hash-chain row")
            if not self.proven(position):
                unproven.append(event_id)
        return unproven

    def _problem(self, digest: Digest) -> str | None:
        """What is wrong with the digest, or with the recorded hashes of its positions."""
        fingerprint = digest.signed_by
        key = self._keys.get(fingerprint) if isinstance(fingerprint, str) else None
        if key is None:
            return f"is signed by no trusted key (fingerprint {fingerprint})"
        try:
            key.verify(digest.signature, signature_message(digest.body))
        except (InvalidSignature, ValueError, KeyError):
            return "has a signature the key rejects"
        tree, tips = MerkleAccumulator(), self._signed_tips(digest)
        for position, oid, version, event_hash in self._store.hashed_events(
                digest.start_position - 1, digest.end_position):
            tree.add(leaf_hash(position, event_hash))
            if tips.get(oid, [None])[0] == version and tips[oid][1] != event_hash.hex():
                self._rewritten.setdefault(digest.sequence, position)
        fields = digest.fields
        if tree.size != fields.get("event_count") or tree.root().hex() != fields.get(
                "merkle_root"):
            return (f"signed other hashes for positions {digest.start_position}-"
                    f"{digest.end_position} than the log holds now: an event there and its "
                    "hash were rewritten")
        return None

    def _signed_tips(self, digest: Digest) -> dict[str, list]:
        """The chain tips the digest signed (by their hash), which name the rewritten event."""
        blob = digest.chain_tips or self._store.chain_tips(digest.sequence)
        if blob is None or hashlib.sha256(blob).hexdigest() != digest.fields.get(
                "chain_tips_hash"):
            return {}
        return json.loads(blob)
