"""Which root key seals the key material and which key signs digests, as events in the log.

A root key rotation and a change of digest-signing key are each an event here, with the
context of who made it, when, and the old and new keys' fingerprints (never key bytes), so the
trail answers "since when is this key in charge" and verification can pick keys by fingerprint.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate

from ledger.keys import envelope
from ledger.keys.keystore import KeyStoreChanges
from ledger.keys.rootkey import RootKeyError, root_key_fingerprint
from ledger.loading import load

CUSTODY_ID = uuid5(NAMESPACE_URL, "/key-custody")


class CustodyStarted(Aggregate.Created):
    context: dict[str, Any]


class RootKeyRotated(Aggregate.Event):
    """All key material was re-wrapped from the old root key to the new one."""

    context: dict[str, Any]
    old_fingerprint: str
    new_fingerprint: str
    rewrapped: int  # key material rows re-wrapped

    def apply(self, aggregate: Any) -> None:
        aggregate.root_fingerprint = self.new_fingerprint


class SigningKeyChanged(Aggregate.Event):
    """Digests from here on are signed by the key with `new_fingerprint`."""

    context: dict[str, Any]
    old_fingerprint: str | None
    new_fingerprint: str
    external: bool  # the new key lives in a key file outside the data directory

    def apply(self, aggregate: Any) -> None:
        aggregate.signing_fingerprint = self.new_fingerprint


class KeyCustody(Aggregate):
    @classmethod
    def start(cls, now: datetime, context: dict[str, Any]) -> KeyCustody:
        return cls._create(CustodyStarted, id=CUSTODY_ID, timestamp=now, context=context)

    def __init__(self) -> None:
        self.root_fingerprint: str | None = None  # None: never rotated
        self.signing_fingerprint: str | None = None

    def root_rotated(self, old: str, new: str, rewrapped: int, now: datetime,
                     context: dict[str, Any]) -> None:
        self.trigger_event(RootKeyRotated, timestamp=now, context=context, old_fingerprint=old,
                           new_fingerprint=new, rewrapped=rewrapped)

    def signing_changed(self, old: str | None, new: str, external: bool, now: datetime,
                        context: dict[str, Any]) -> None:
        self.trigger_event(SigningKeyChanged, timestamp=now, context=context,
                           old_fingerprint=old, new_fingerprint=new, external=external)


def load_custody(repository: Repository) -> KeyCustody | None:
    try:
        return load(repository, CUSTODY_ID)
    except AggregateNotFoundError:
        return None


def check_root_key(repository: Repository, materials: dict[str, bytes], root_key: bytes,
                   source: str) -> None:
    """Refuse a root key that opens none of this ledger's key material, naming the key it
    needs (after a rotation the log says which), before anything is sealed under it. One
    damaged row is not a wrong key: it is reported where it is used."""
    sealed = {name: wrapped for name, wrapped in materials.items()
              if not name.startswith("kms:")}  # the rest are sealed with their name as context
    if not sealed or any(envelope.opens(root_key, wrapped, name.encode()) for name, wrapped in sealed.items()):
        return
    custody = load_custody(repository)
    needed = (f"; since its last rotation it needs root key {custody.root_fingerprint}"
              if custody is not None and custody.root_fingerprint else "")
    raise RootKeyError(f"the root key from {source} ({root_key_fingerprint(root_key)}) does "
                       f"not open this ledger's key material{needed}")


def record_custody_change(save: Callable[..., Any], repository: Repository, now: datetime,
                          context: dict[str, Any], change: Callable[[KeyCustody], None],
                          *also: Any, key_changes: KeyStoreChanges | None = None) -> None:
    """Apply one change to the custody stream and save it with `also` (e.g. the audit record)
    and the key store changes that go with it, in one transaction."""
    custody = load_custody(repository) or KeyCustody.start(now, context)
    change(custody)
    save(custody, *also, key_changes=key_changes)
