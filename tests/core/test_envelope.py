"""Envelope encryption: each version's data key, bound to {SecretARN, SecretVersionId}."""
from __future__ import annotations

import pytest

from ledger import values
from ledger.errors import DecryptionFailure
from ledger.keys import envelope
from ledger.keys.keystore import DataKey
from ledger.secret import SealedValue
from tests.core.support import admin_context, create_key, set_key_state

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:env/test-AbC123"
OTHER_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:env/other-XyZ789"
VERSION, OTHER_VERSION = "a" * 32, "b" * 32
SECRET = values.Plaintext("SecretString", "envelope-plaintext-Qx".encode())


@pytest.fixture
def key(ledger, caller):
    return ledger.kms.default_key(ledger.now(), admin_context(ledger, caller))


@pytest.fixture
def sealed(ledger, key) -> tuple[SealedValue, DataKey]:
    return values.seal(ledger.kms, key, ARN, VERSION, SECRET, "hmac-sha256-secret:" + "0" * 64)


def unseal(ledger, data_key, sealed_value, arn=ARN, version=VERSION) -> values.Plaintext:
    return values.unseal(ledger.kms, data_key, arn, version, sealed_value)


def test_round_trip(ledger, key, sealed):
    sealed_value, data_key = sealed
    assert unseal(ledger, data_key, sealed_value) == SECRET
    assert (sealed_value.key_arn, data_key.key_arn) == (key.arn, key.arn)
    assert SECRET.data not in sealed_value.ciphertext
    assert len(sealed_value.ciphertext) == 12 + len(SECRET.data) + 16  # nonce + text + tag


def test_binary_round_trip(ledger, key):
    value = values.Plaintext("SecretBinary", bytes(range(256)))
    sealed_value, data_key = values.seal(ledger.kms, key, ARN, VERSION, value, "fp")
    assert unseal(ledger, data_key, sealed_value) == value


def test_every_seal_uses_a_fresh_data_key_and_nonce(ledger, key, sealed):
    again, again_key = values.seal(ledger.kms, key, ARN, VERSION, SECRET, "fp")
    assert again.ciphertext != sealed[0].ciphertext
    assert again_key.wrapped != sealed[1].wrapped
    assert unseal(ledger, again_key, again) == SECRET


@pytest.mark.parametrize("where", [0, 12, -1])
def test_tampered_ciphertext_is_a_decryption_failure(ledger, sealed, where):
    sealed_value, data_key = sealed
    blob = bytearray(sealed_value.ciphertext)
    blob[where] ^= 0x01
    tampered = SealedValue(sealed_value.value_type, bytes(blob), sealed_value.fingerprint,
                           sealed_value.key_arn)
    with pytest.raises(DecryptionFailure) as caught:
        unseal(ledger, data_key, tampered)
    assert "envelope-plaintext" not in str(caught.value)


def test_tampered_wrapped_data_key_is_a_decryption_failure(ledger, sealed):
    sealed_value, data_key = sealed
    wrapped = bytearray(data_key.wrapped)
    wrapped[-1] ^= 0x80
    with pytest.raises(DecryptionFailure):
        unseal(ledger, DataKey(data_key.key_arn, bytes(wrapped)), sealed_value)


def test_another_version_id_is_a_decryption_failure(ledger, sealed):
    with pytest.raises(DecryptionFailure):
        unseal(ledger, sealed[1], sealed[0], version=OTHER_VERSION)


def test_another_secret_arn_is_a_decryption_failure(ledger, sealed):
    with pytest.raises(DecryptionFailure):
        unseal(ledger, sealed[1], sealed[0], arn=OTHER_ARN)


def test_ciphertext_moved_to_another_versions_data_key_is_a_decryption_failure(ledger, key,
                                                                              sealed):
    _, other_key = values.seal(ledger.kms, key, ARN, OTHER_VERSION, SECRET, "fp")
    with pytest.raises(DecryptionFailure):
        unseal(ledger, other_key, sealed[0])


def test_wrong_kms_key_is_a_decryption_failure(ledger, caller, sealed):
    other = create_key(ledger, caller)
    sealed_value, data_key = sealed
    with pytest.raises(DecryptionFailure):
        unseal(ledger, DataKey(other.arn, data_key.wrapped), sealed_value)


def test_unknown_kms_key_is_a_decryption_failure(ledger, sealed):
    missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000"
    with pytest.raises(DecryptionFailure) as caught:
        unseal(ledger, DataKey(missing, sealed[1].wrapped), sealed[0])
    assert missing in caught.value.message


def test_disabled_kms_key_is_a_decryption_failure_until_enabled(ledger, caller, sealed):
    own = create_key(ledger, caller)
    sealed_value, data_key = values.seal(ledger.kms, own, ARN, VERSION, SECRET, "fp")
    set_key_state(ledger, caller, own, "Disabled")
    with pytest.raises(DecryptionFailure) as caught:
        unseal(ledger, data_key, sealed_value)
    assert own.arn in caught.value.message and "Disabled" in caught.value.message
    set_key_state(ledger, caller, own, "Enabled")
    assert unseal(ledger, data_key, sealed_value) == SECRET


def test_shredded_data_key_is_a_decryption_failure(ledger, sealed):
    with pytest.raises(DecryptionFailure) as caught:
        unseal(ledger, None, sealed[0])
    assert VERSION in caught.value.message


def test_rewrap_moves_a_data_key_to_another_kms_key(ledger, caller, sealed):
    other = create_key(ledger, caller)
    sealed_value, data_key = sealed
    moved = values.rewrap(ledger.kms, data_key, other, ARN, VERSION)
    assert moved.key_arn == other.arn and moved.wrapped != data_key.wrapped
    assert unseal(ledger, moved, sealed_value) == SECRET


def test_envelope_primitives_refuse_a_wrong_key_or_context():
    key, aad = envelope.new_key(), envelope.context_aad({"SecretARN": ARN, "SecretVersionId": "v"})
    blob = envelope.seal(key, b"payload", aad)
    assert envelope.open_sealed(key, blob, aad) == b"payload"
    for wrong_key, wrong_aad in ((envelope.new_key(), aad), (key, aad + b"x"), (key, b"")):
        with pytest.raises(envelope.SealBroken):
            envelope.open_sealed(wrong_key, blob, wrong_aad)
    with pytest.raises(envelope.SealBroken):
        envelope.open_sealed(key, blob[:5], aad)


def test_context_aad_does_not_depend_on_key_order():
    forward = envelope.context_aad({"SecretARN": ARN, "SecretVersionId": VERSION})
    backward = envelope.context_aad({"SecretVersionId": VERSION, "SecretARN": ARN})
    assert forward == backward
    assert forward != envelope.context_aad({"SecretARN": ARN, "SecretVersionId": OTHER_VERSION})


def test_fingerprint_is_keyed_and_separates_types():
    key = envelope.new_key()
    text = envelope.fingerprint(key, "SecretString", b"same")
    assert text == envelope.fingerprint(key, "SecretString", b"same")
    assert text.startswith("hmac-sha256:") and len(text) == len("hmac-sha256:") + 64
    assert text != envelope.fingerprint(key, "SecretBinary", b"same")
    assert text != envelope.fingerprint(envelope.new_key(), "SecretString", b"same")
    assert "same" not in text


def test_a_secrets_fingerprints_are_stable_across_reopening_and_differ_between_secrets(
        sqlite_ledger, tmp_path, clock, caller):
    from ledger.application import SecretsLedger
    from ledger.config import LedgerConfig
    for name in ("one", "two"):
        sqlite_ledger.call("CreateSecret", {"Name": name, "SecretString": "same"}, caller)
    prints = [v.sealed.fingerprint for name in ("one", "two")
              for v in sqlite_ledger.find_secret(name).versions.values()]
    assert prints[0] != prints[1] and all(p.startswith("hmac-sha256-secret:") for p in prints)
    reopened = SecretsLedger(LedgerConfig(data_dir=tmp_path / "data"), clock=clock)
    one = reopened.find_secret("one")
    version_id = next(iter(one.versions))
    assert reopened.same_value(one, version_id, values.Plaintext("SecretString", b"same"))
    assert not reopened.same_value(one, version_id, values.Plaintext("SecretString", b"other"))
