"""Envelope encryption recipe: AES-256-GCM with the encryption context bound as associated data.

The rest of the ledger never imports `cryptography.hazmat`. Every failure to open a sealed blob
raises the one `SealBroken` error, which says nothing about which check failed.
"""
from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger import codec

_NONCE = 12


class SealBroken(Exception):
    """A blob could not be opened: wrong key, wrong context, or altered bytes."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def context_aad(context: dict[str, str]) -> bytes:
    """Canonical bytes of an encryption context (sorted keys), as KMS binds it."""
    return codec.pack(sorted(context.items()))


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], aad)
    except (InvalidTag, ValueError):
        raise SealBroken() from None


def opens(key: bytes, blob: bytes, aad: bytes) -> bool:
    """Whether `key` opens `blob` (which root key wraps a row, say)."""
    try:
        open_sealed(key, blob, aad)
        return True
    except SealBroken:
        return False


def fingerprint(hmac_key: bytes, value_type: str, value: bytes,
                scheme: str = "hmac-sha256") -> str:
    """Keyed fingerprint, Vault audit-hash style: answers "was this value stored?" without it.
    `scheme` names the key's kind, so a fingerprint says which key can check it."""
    digest = hmac.new(hmac_key, value_type.encode() + b"\0" + value, hashlib.sha256).hexdigest()
    return f"{scheme}:{digest}"
