"""The ledger's Ed25519 digest-signing key, kept like all other key material.

The private key is wrapped by the root key and stored in the key store (created once with a
put-if-absent, so concurrent processes agree on one key); it never enters the log. The public
key is what auditors keep: `secrets-ledger public-key` prints it as PEM.
"""
from __future__ import annotations

import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.integrity.proof import key_fingerprint
from ledger.keys import envelope
from ledger.keys.keystore import KeyStore

SIGNING_KEY_MATERIAL = "digest-signing-key"
_AAD = SIGNING_KEY_MATERIAL.encode()


class DigestSigner:
    def __init__(self, key_store: KeyStore, root_key: bytes) -> None:
        self._key_store, self._root_key = key_store, root_key
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

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
