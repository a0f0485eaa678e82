"""Each secret's own key record: what turns deleting a secret into an erasure.

The record holds two keys. One wraps the secret's data keys a second time before they enter the
data-key table (over the KMS key's wrapping), the other keys the fingerprints of its values. It
is sealed under the root key as material `secret:<id>`: on SQLite a file of its own
(`ledger.keys.key_files`), on PostgreSQL and in memory a key-store row. Destroying the record
when the secret is deleted leaves every copy of its data-key rows and of its fingerprints
useless, including copies the database still keeps for its readers.

Rows written before a secret had a record (ledgers from before per-secret keys) are wrapped by
the KMS key alone and read as they are; fingerprints made with the ledger's former global key
say so by their prefix.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ledger.keys import envelope
from ledger.keys.keystore import DataKey, KeyStore, KeyStoreChanges

RECORD_PREFIX = "secret:"
SCHEME = "hmac-sha256-secret"  # fingerprints keyed per secret; "hmac-sha256" is the global key
CACHE_SIZE = 10_000

Wrap = Callable[[str, bytes], bytes]


@dataclass(frozen=True)
class SecretKey:
    wrapping: bytes
    fingerprinting: bytes

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"


def record_name(secret_hex: str) -> str:
    return RECORD_PREFIX + secret_hex


def shred(changes: KeyStoreChanges, secret_hex: str) -> None:
    """A deleted secret loses its data-key rows and its key record in one save."""
    changes.shred_secrets.append(secret_hex)
    changes.shred_materials.append(record_name(secret_hex))


def is_per_secret(fingerprint: str) -> bool:
    return fingerprint.startswith(SCHEME + ":")


def fingerprint(key: SecretKey, value_type: str, data: bytes) -> str:
    return envelope.fingerprint(key.fingerprinting, value_type, data, SCHEME)


class SecretKeys:
    """Finds, creates and caches secret key records; `wrap`/`unwrap` seal under the root key."""

    def __init__(self, key_store: KeyStore, wrap: Wrap, unwrap: Wrap) -> None:
        self._key_store, self._wrap, self._unwrap = key_store, wrap, unwrap
        self._cache: dict[str, SecretKey] = {}
        self._lock = threading.Lock()

    def find(self, secret_hex: str) -> SecretKey | None:
        with self._lock:
            key = self._cache.get(secret_hex)
        if key is not None:
            return key
        wrapped = self._key_store.material(record_name(secret_hex))
        if wrapped is None:
            return None
        key = self._open(secret_hex, wrapped)
        self._keep(secret_hex, key)
        return key

    def for_write(self, secret_hex: str, changes: KeyStoreChanges,
                  version_ids: Iterable[str] = ()) -> SecretKey:
        """The secret's record, made now (and added to `changes`) if it has none yet, in which
        case the rows of `version_ids` (written before it existed) are re-written under it in
        the same save. Two writers making one at once clash on commit, and the loser retries
        with the winner's."""
        name = record_name(secret_hex)
        if name in changes.materials:
            return self._open(secret_hex, changes.materials[name])
        key = self.find(secret_hex)
        if key is None:
            material = envelope.new_key() + envelope.new_key()
            changes.materials[name] = self._wrap(name, material)
            key = SecretKey(material[:32], material[32:])
            for version_id in version_ids:
                row = self._key_store.data_key(secret_hex, version_id)
                if row is not None:
                    changes.data_keys.setdefault((secret_hex, version_id), row)
        return key

    def remember_committed(self, changes: KeyStoreChanges) -> None:
        """Cache the records a save just committed (never before: a save that fails must not
        leave a record this process would use but the store does not hold), and forget the
        ones it destroyed."""
        for name, wrapped in changes.materials.items():
            if name.startswith(RECORD_PREFIX):
                secret_hex = name[len(RECORD_PREFIX):]
                self._keep(secret_hex, self._open(secret_hex, wrapped))
        for name in changes.shred_materials:
            if name.startswith(RECORD_PREFIX):
                self.forget(name[len(RECORD_PREFIX):])

    def _keep(self, secret_hex: str, key: SecretKey) -> None:
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[secret_hex] = key

    def forget(self, secret_hex: str) -> None:
        with self._lock:
            self._cache.pop(secret_hex, None)

    def _open(self, secret_hex: str, wrapped: bytes) -> SecretKey:
        material = self._unwrap(record_name(secret_hex), wrapped)
        return SecretKey(material[:32], material[32:])

    # ---- data keys ---------------------------------------------------------------------------
    def seal_data_keys(self, changes: KeyStoreChanges) -> None:
        """Wrap every data key the save writes under its secret's record."""
        for (secret_hex, version_id), data_key in list(changes.data_keys.items()):
            key = self.for_write(secret_hex, changes)
            wrapped = envelope.seal(key.wrapping, data_key.wrapped, _aad(secret_hex, version_id))
            changes.data_keys[(secret_hex, version_id)] = DataKey(data_key.key_arn, wrapped)

    def open_data_key(self, secret_hex: str, version_id: str, row: DataKey) -> DataKey:
        """The KMS-wrapped data key of a row. A row from before the secret had a record is
        that already; after the record is destroyed no row opens."""
        key = self.find(secret_hex)
        if key is None:
            return row
        try:
            inner = envelope.open_sealed(key.wrapping, row.wrapped, _aad(secret_hex, version_id))
        except envelope.SealBroken:
            return row  # written before the record existed
        return DataKey(row.key_arn, inner)


def _aad(secret_hex: str, version_id: str) -> bytes:
    return envelope.context_aad({"SecretId": secret_hex, "SecretVersionId": version_id})
