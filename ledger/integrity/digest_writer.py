"""Writing the next signed digest: on demand, and on schedule when its interval has passed.

The range a digest will cover is re-hashed from the events' own bytes first, as `verify` would
check it: a signature over a forged or altered event would vouch for it.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Optional

from eventsourcing.persistence import IntegrityError

from ledger.integrity.digest import Digest, event_time, format_time
from ledger.integrity.proof import DIGEST_FORMAT, canonical_json, signature_message
from ledger.integrity.ranges import scan_span
from ledger.integrity.signing import DigestSigner
from ledger.integrity.span import Span
from ledger.integrity.store import IntegrityStore, StoredDigest

_ATTEMPTS = 10
KeyChangeHook = Callable[[Optional[str], str], None]  # (old fingerprint, new fingerprint)


def tips_blob(tips: dict[str, list[Any]]) -> bytes:
    """originator id -> [version, chain hash hex] of the last event of it in the range."""
    return canonical_json(tips)


class UnsignableRange(Exception):
    """The events a digest would cover fail their hash chain: no digest is written until
    the log is examined (`verify` names what was done, and where)."""


class DigestWriter:
    def __init__(self, store: IntegrityStore, signer: DigestSigner, ledger_name: str,
                 clock: Callable[[], datetime], interval: timedelta | None = None,
                 on_key_change: KeyChangeHook | None = None) -> None:
        self._store, self._signer, self._ledger = store, signer, ledger_name
        self._on_key_change = on_key_change
        self._clock, self.interval = clock, interval
        self._next_due: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._clock()

    def write(self) -> Digest:
        """Sign a digest over everything logged since the previous one (maybe nothing)."""
        for _ in range(_ATTEMPTS):
            digest = self._append()
            if digest is not None:
                return digest
            # another writer signed this sequence number first: build on theirs
        raise IntegrityError("could not append a digest: too many concurrent digest writers")

    def _append(self) -> Digest | None:
        """The next digest, appended; None if another writer appended one first."""
        latest = self._store.latest_digest()
        previous = Digest.of(latest) if latest else None
        if previous is not None and self._on_key_change is not None:
            old = previous.signed_by
            if old != self._signer.fingerprint:  # recorded first, so this digest covers it
                self._on_key_change(old, self._signer.fingerprint)
        digest, tips = self._build(previous)
        try:
            self._store.insert_digest(StoredDigest(digest.sequence, digest.body,
                                                   digest.signature), tips)
        except IntegrityError:
            return None
        return digest

    def _build(self, previous: Digest | None) -> tuple[Digest, bytes]:
        now = self._clock()
        start = previous.end_position + 1 if previous else 1
        sequence = previous.sequence + 1 if previous else 1
        end = max(self._store.max_position(), start - 1)
        # Re-hash the range from the events' own bytes before signing it, as `verify` would:
        # a signature over a forged or altered event would vouch for it.
        scan = scan_span(self._store, Span(start, end, sequence), orphans={})
        if not scan.clean:
            raise UnsignableRange(
                f"refusing to sign positions {start}-{end}: position "
                f"{scan.first_bad_position()} does not match its hash chain; run verify")
        tree = scan.tree
        tips = {oid: [version, event_hash.hex()]
                for oid, (version, event_hash, _) in scan.tips.items()}
        oldest, newest = self._event_time(scan.first), self._event_time(scan.last)
        blob = tips_blob(tips)
        body = {
            "format": DIGEST_FORMAT, "ledger": self._ledger,
            "sequence": sequence,
            "digest_start_time": (previous.fields["digest_end_time"] if previous
                                  else format_time(oldest or now)),
            "digest_end_time": format_time(now),
            "oldest_event_time": format_time(oldest) if oldest else None,
            "newest_event_time": format_time(newest) if newest else None,
            "start_position": start, "end_position": end, "event_count": tree.size,
            "hash_algorithm": "SHA-256", "merkle_root": tree.root().hex(),
            "chain_tips_hash": hashlib.sha256(blob).hexdigest(), "chain_tip_count": len(tips),
            "previous_digest_sequence": previous.sequence if previous else None,
            "previous_digest_hash": previous.hash if previous else None,
            "previous_digest_signature": previous.signature.hex() if previous else None,
            "public_key_fingerprint": self._signer.fingerprint, "signature_algorithm": "Ed25519",
        }
        body_bytes = canonical_json(body)
        return Digest(sequence, body_bytes,
                      self._signer.sign(signature_message(body_bytes))), blob

    def _event_time(self, position: int | None) -> datetime | None:
        if position is None:
            return None
        for row in self._store.chain_rows(position - 1, position):
            return event_time(row.state)
        return None

    # ---- the schedule ---------------------------------------------------------------------
    def write_if_due(self) -> Digest | None:
        """Write a digest if `interval` has passed since the last one (or the first event)."""
        if self.interval is None:
            return None
        now = self._clock()
        if self._next_due is not None and now < self._next_due:
            return None
        with self._lock:
            since = self._last_covered_time()
            if since is None:
                return None  # nothing logged yet
            if now < since + self.interval:
                self._next_due = since + self.interval
                return None
            try:
                digest = self._append()
            except UnsignableRange:
                self._next_due = now + self.interval  # each try re-reads the whole range
                raise
            if digest is None:  # another process just signed the interval: no longer due
                self._next_due = None  # the next check reads when theirs ended
                return None
            self._next_due = digest.end_time + self.interval
            return digest

    def _last_covered_time(self) -> datetime | None:
        latest = self._store.latest_digest()
        if latest is not None:
            try:
                return Digest.of(latest).end_time
            except (ValueError, KeyError):
                return None
        # The first event's time: on PostgreSQL position 1 may be a gap (a failed insert
        # still consumes its sequence number), so take the first row there is.
        for row in self._store.chain_rows(0, None):
            return event_time(row.state)
        return None
