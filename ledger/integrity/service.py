"""The ledger's integrity services in one place: digests on demand and on schedule,
verification, proofs and the public key."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.integrity.digest import Digest
from ledger.integrity.digest_writer import DigestWriter, KeyChangeHook, UnsignableRange
from ledger.integrity.inclusion import build_proof
from ledger.integrity.publisher import DigestPublisher
from ledger.integrity.report import VerificationReport
from ledger.integrity.signing import DigestSigner
from ledger.integrity.store import IntegrityStore, SQLiteIntegrityStore, store_for
from ledger.integrity.verify import UNPROVEN_GRACE, verify

log = logging.getLogger(__name__)


class IntegrityUnsupported(Exception):
    """The event store in use has no hash chain (memory, SQLite and PostgreSQL have one)."""


class LedgerIntegrity:
    def __init__(self, recorder: Any, root_key: bytes, *, ledger_name: str,
                 clock: Callable[[], datetime], interval: timedelta | None,
                 signing_key: Ed25519PrivateKey | None = None,
                 on_key_change: KeyChangeHook | None = None) -> None:
        self.signer = DigestSigner(recorder, root_key, signing_key)
        try:
            self._store: IntegrityStore | None = store_for(recorder)
        except TypeError:
            self._store = None  # the ledger still works; integrity commands say why they can't
            log.warning("no hash chain for %s: digests and verify are off",
                        type(recorder).__name__)
            return
        if isinstance(self._store, SQLiteIntegrityStore):
            self._store.backfill_chain()  # a log from before the chain: hash it once
        self.writer = DigestWriter(self._store, self.signer, ledger_name, clock, interval,
                                   on_key_change)
        self.publisher: DigestPublisher | None = None

    def publish_to(self, directory: Path) -> None:
        """Publish every digest as a file in `directory` from now on, and at once every digest
        not published there yet. Raises PublishConflict if a file there holds other content."""
        self.publisher = DigestPublisher(self.store, directory)
        self.publisher.publish_pending()

    @property
    def store(self) -> IntegrityStore:
        if self._store is None:
            raise IntegrityUnsupported("this event store keeps no hash chain")
        return self._store

    def write_digest(self) -> Digest:
        """Sign a digest now and publish it (raises PublishConflict if that fails)."""
        self.store  # noqa: B018 (raises if unsupported)
        digest = self.writer.write()
        if self.publisher is not None:
            self.publisher.publish_pending()
        return digest

    def write_digest_if_due(self) -> Digest | None:
        """For the write path and schedulers: a failure here must not fail a committed call."""
        if self._store is None:
            return None
        try:
            digest = self.writer.write_if_due()
        except UnsignableRange as error:
            log.error("no digest written: %s", error)
            return None
        except Exception:
            log.exception("writing the scheduled digest failed; the next write retries")
            return None
        if digest is not None and self.publisher is not None:
            try:
                self.publisher.publish_pending()
            except Exception:
                log.exception("publishing digest %s failed; the next digest retries",
                              digest.sequence)
        return digest

    def verify(self, public_key: Ed25519PublicKey | None = None, *,
               start: datetime | None = None, end: datetime | None = None) -> VerificationReport:
        source = "given" if public_key is not None else (
            "taken from the ledger's own key store; pass a published copy to rule out a "
            "replaced key")
        return verify(self.store, public_key or self.signer.public_key, key_source=source,
                      start=start, end=end, now=self.writer.now(),
                      unproven_after=(self.writer.interval or timedelta()) + UNPROVEN_GRACE)

    def prove(self, event_ref: str) -> dict[str, Any]:
        return build_proof(self.store, event_ref)

    def public_key_pem(self) -> str:
        return self.signer.public_key_pem()
