"""The ledger's Ed25519 digest-signing key: in a key file of its own, or in the key store.

Given a key file (`--signing-key FILE`, LEDGER_SIGNING_KEY_FILE), the private key is read from
it and never written anywhere: a copy of the data directory then holds nothing that signs as
this key. Without one, the key is wrapped by the root key and kept in the key store (created
once with a put-if-absent, so concurrent processes agree on one key). Either way it never
enters the log. The public key is what auditors keep: `secrets-ledger public-key` prints it.
"""
from __future__ import annotations

import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.integrity.proof import key_fingerprint
from ledger.keys import envelope
from ledger.keys.private_files import KeyFileError, read_private_file, write_private_file
from ledger.keys.keystore import KeyStore

SIGNING_KEY_MATERIAL = "digest-signing-key"
_AAD = SIGNING_KEY_MATERIAL.encode()


class DigestSigner:
    def __init__(self, key_store: KeyStore, root_key: bytes,
                 external: Ed25519PrivateKey | None = None) -> None:
        self._key_store, self._root_key = key_store, root_key
        self._key: Ed25519PrivateKey | None = external
        self.external = external is not None  # kept outside the data directory
        self._lock = threading.Lock()

    def stored_key_present(self) -> bool:
        """Whether the key store holds a signing key (one used before a key file was)."""
        return self._key_store.material(SIGNING_KEY_MATERIAL) is not None

    def _private_key(self) -> Ed25519PrivateKey:
        with self._lock:
            if self._key is None:
                fresh = Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                    serialization.NoEncryption())
                wrapped = self._key_store.put_material_if_absent(
                    SIGNING_KEY_MATERIAL, envelope.seal(self._root_key, fresh, _AAD))
                raw = envelope.open_sealed(self._root_key, wrapped, _AAD)
                self._key = Ed25519PrivateKey.from_private_bytes(raw)
            return self._key

    def sign(self, message: bytes) -> bytes:
        return self._private_key().sign(message)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private_key().public_key()

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_key)

    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the digest public key must be an Ed25519 key")
    return key


def create_signing_key_file(path: Path) -> Ed25519PrivateKey:
    """A new Ed25519 key in a new PEM file (PKCS#8, mode 0600)."""
    key = Ed25519PrivateKey.generate()
    write_private_file(path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    return key


def read_signing_key_file(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(read_private_file(path), password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 key")
    return key
