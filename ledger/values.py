"""Sealing and opening secret values: the only place plaintext meets keys.

Plaintext lives in local variables for the length of one call and is never stored, logged or
put in an exception. Each version gets a fresh data key bound to {SecretARN, SecretVersionId}.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from ledger.errors import DecryptionFailure, InvalidParameterException, InvalidRequestException
from ledger.keys import envelope
from ledger.keys.keystore import DataKey
from ledger.keys.kms_key import KmsKey
from ledger.keys.local_kms import LocalKms
from ledger.secret import SealedValue

STRING, BINARY = "SecretString", "SecretBinary"


@dataclass(frozen=True)
class Plaintext:
    """A value on its way in or out; its repr never shows the value."""

    value_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"Plaintext({self.value_type}, <{len(self.data)} bytes hidden>)"

    def as_response(self) -> dict[str, Any]:
        if self.value_type == STRING:
            return {STRING: self.data.decode("utf-8")}
        return {BINARY: self.data}


def value_from_request(request: dict[str, Any], required: bool) -> Plaintext | None:
    """SecretString xor SecretBinary; binary may come as bytes or as base64 text."""
    has_string, has_binary = request.get(STRING) is not None, request.get(BINARY) is not None
    if has_string and has_binary:
        raise InvalidParameterException(
            "You can't specify both a binary secret value and a string secret value in the same "
            "secret.")
    if has_string:
        return Plaintext(STRING, request[STRING].encode("utf-8"))
    if has_binary:
        return Plaintext(BINARY, _binary(request[BINARY]))
    if required:
        raise InvalidRequestException("You must provide either SecretString or SecretBinary.")
    return None


def with_binary_decoded(request: Any) -> Any:
    """The request with a base64-text SecretBinary (its JSON wire form) decoded to bytes.

    Done before model validation, so the blob's limits are measured in bytes and text that is
    not base64 is an InvalidParameterException rather than a type error.
    """
    if not isinstance(request, dict) or not isinstance(request.get(BINARY), str):
        return request
    return {**request, BINARY: _binary(request[BINARY])}


def _binary(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidParameterException("SecretBinary is not valid base64.") from None


def encryption_context(secret_arn: str, version_id: str) -> dict[str, str]:
    return {"SecretARN": secret_arn, "SecretVersionId": version_id}


KEY_ACCESS_PROBE = "RequestToValidateKeyAccess"


def probe_key(kms: LocalKms, key: KmsKey, secret_arn: str) -> None:
    """Fail now if `key` cannot encrypt, as Secrets Manager's throw-away data key on a key change does."""
    kms.generate_data_key(key, encryption_context(secret_arn, KEY_ACCESS_PROBE))


def seal(kms: LocalKms, key: KmsKey, secret_arn: str, version_id: str, value: Plaintext,
         fingerprint: str) -> tuple[SealedValue, DataKey]:
    context = encryption_context(secret_arn, version_id)
    data_key, wrapped = kms.generate_data_key(key, context)
    ciphertext = envelope.seal(data_key, value.data, envelope.context_aad(context))
    return SealedValue(value.value_type, ciphertext, fingerprint, key.arn), DataKey(key.arn, wrapped)


def unseal(kms: LocalKms, data_key: DataKey | None, secret_arn: str, version_id: str,
           sealed: SealedValue) -> Plaintext:
    if data_key is None:
        raise DecryptionFailure(f"The data key of version {version_id} was destroyed; its value "
                                "can no longer be decrypted.")
    context = encryption_context(secret_arn, version_id)
    plain_key = kms.decrypt_data_key(data_key.key_arn, data_key.wrapped, context)
    try:
        data = envelope.open_sealed(plain_key, sealed.ciphertext, envelope.context_aad(context))
    except envelope.SealBroken:
        raise DecryptionFailure("Secrets Manager can't decrypt the protected secret text using "
                                "the provided KMS key.") from None
    return Plaintext(sealed.value_type, data)


def rewrap(kms: LocalKms, data_key: DataKey, new_key: KmsKey, secret_arn: str,
           version_id: str) -> DataKey:
    """Re-encrypt a version under another KMS key: only its data key changes."""
    context = encryption_context(secret_arn, version_id)
    plain_key = kms.decrypt_data_key(data_key.key_arn, data_key.wrapped, context)
    return DataKey(new_key.arn, kms.wrap_for(new_key, plain_key, context))
