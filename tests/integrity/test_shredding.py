"""Crypto-shredding: once a secret is finally deleted, or a version is cleaned up, nothing in
a copy of the data directory can open its old ciphertext, while the log, its chain, its
digests and the audit trail stay whole.

The ledger itself makes this hold on disk: key rows are written with SQLite's secure_delete
(freed space zeroed) and a save that destroys keys is followed by a truncating WAL checkpoint,
so the destroyed wrapped keys survive neither in the database pages nor in old WAL frames.
The tests take their copy right after the deleting call and run no checkpoint of their own.
"""
from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.calls import ApiCallRecorded
from ledger.errors import LedgerError
from ledger.integrity.signing import load_public_key
from ledger.keys import envelope
from ledger.secret import Limits
from ledger.values import encryption_context
from tests.integrity.conftest import open_ledger

VICTIM = "prod/payments-db"


@dataclass
class Sealed:
    version_id: str
    ciphertext: bytes
    wrapped_key: bytes
    context: dict[str, str]


def sealed_versions(ledger, name: str) -> dict[str, Sealed]:
    secret = ledger.find_secret(name)
    out = {}
    for version_id, version in secret.versions.items():
        data_key = ledger.key_store.data_key(secret.id.hex, version_id)
        out[version_id] = Sealed(version_id, version.sealed.ciphertext, data_key.wrapped,
                                 encryption_context(secret.arn, version_id))
    return out


def every_key_the_ledger_holds(ledger, data_dir: Path) -> list[bytes]:
    """The root key, every KMS key's material, and every data key still in the key store."""
    keys = [ledger.kms._root_key]
    with sqlite3.connect(data_dir / "ledger.db") as db:
        names = [r[0] for r in db.execute("SELECT name FROM key_materials")]
        rows = db.execute("SELECT secret_id, version_id, key_arn, wrapped "
                          "FROM data_keys").fetchall()
    for name in names:
        if name.startswith("kms:"):
            keys.append(ledger.kms._material(ledger.kms.find(name[4:])))
    for secret_id, version_id, key_arn, wrapped in rows:
        secret = ledger.repository.get(uuid.UUID(secret_id))
        keys.append(ledger.kms.decrypt_data_key(
            key_arn, bytes(wrapped), encryption_context(secret.arn, version_id)))
    return keys


def opens(keys: list[bytes], sealed: Sealed) -> bool:
    aad = envelope.context_aad(sealed.context)
    for key in keys:
        try:
            envelope.open_sealed(key, sealed.ciphertext, aad)
            return True
        except envelope.SealBroken:
            continue
    return False


def files_holding(directory: Path, needle: bytes) -> list[str]:
    return [p.name for p in sorted(directory.iterdir()) if p.is_file() and needle in p.read_bytes()]


def force_delete(ledger, caller, clock) -> int:
    ledger.call("DeleteSecret", {"SecretId": VICTIM, "ForceDeleteWithoutRecovery": True}, caller)
    return 1


def recovery_window_ends(ledger, caller, clock) -> int:
    ledger.call("DeleteSecret", {"SecretId": VICTIM, "RecoveryWindowInDays": 7}, caller)
    clock.advance(days=7, minutes=1)
    assert len(ledger.purge_expired()) == 1
    return 1


def version_cleanup(ledger, caller, clock) -> int:
    clock.advance(hours=25)  # the oldest version, label-less by now, is past the 24 h minimum
    ledger.call("PutSecretValue", {"SecretId": VICTIM, "SecretString": "rotated-4"}, caller)
    return 1


def api_calls(ledger) -> list[ApiCallRecorded]:
    notes = ledger.recorder.select_notifications(start=1, limit=10**6)
    events = [ledger.mapper.to_domain_event(n) for n in notes]
    return [e for e in events if isinstance(e, ApiCallRecorded)]


@pytest.mark.parametrize("destroy", [force_delete, recovery_window_ends, version_cleanup])
def test_a_copy_taken_after_the_deletion_cannot_open_the_destroyed_values(
        destroy, tmp_path, clock, caller):
    data_dir = tmp_path / "data"
    ledger = open_ledger(data_dir, clock, limits=Limits(max_versions=3))
    calls = 0
    for i in range(20):  # neighbours on the same pages
        ledger.call("CreateSecret", {"Name": f"app/{i}", "SecretString": f"other-{i}"}, caller)
        calls += 1
    ledger.call("CreateSecret", {"Name": VICTIM, "SecretString": "rotated-1"}, caller)
    for value in ("rotated-2", "rotated-3"):
        clock.advance(hours=1)
        ledger.call("PutSecretValue", {"SecretId": VICTIM, "SecretString": value}, caller)
    calls += 3
    before = sealed_versions(ledger, VICTIM)
    ledger.write_digest()
    public_pem = ledger.integrity.public_key_pem()

    calls += destroy(ledger, caller, clock)
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)

    if destroy is version_cleanup:
        after = sealed_versions(ledger, VICTIM)
        destroyed = [before[v] for v in before if v not in after]
        kept = [before[v] for v in before if v in after]
        assert len(destroyed) == 1 and len(kept) == 2
    else:
        destroyed, kept = list(before.values()), []

    reopened = open_ledger(copy, clock, limits=Limits(max_versions=3))
    keys = every_key_the_ledger_holds(reopened, copy)
    for sealed in destroyed:
        assert files_holding(copy, sealed.wrapped_key) == []  # db, -wal and -shm alike
        assert files_holding(copy, sealed.ciphertext) != []  # the log itself is untouched
        assert not opens(keys, sealed)
    for sealed in kept:
        assert opens(keys, sealed)  # the same search finds keys that do exist

    report = reopened.integrity.verify(load_public_key(public_pem))
    assert report.ok, "\n".join(report.lines())
    records = api_calls(reopened)
    user_calls = [r for r in records if r.event_type == "AwsApiCall"]
    assert len(user_calls) == calls
    if destroy is recovery_window_ends:
        assert [r.context["operation"] for r in records if r.event_type == "AwsServiceEvent"] \
            == ["EndSecretVersionDelete"]


def test_a_destroyed_version_reads_as_a_decryption_failure_not_a_value(tmp_path, clock, caller):
    ledger = open_ledger(tmp_path / "data", clock, limits=Limits(max_versions=3))
    ledger.call("CreateSecret", {"Name": VICTIM, "SecretString": "rotated-1"}, caller)
    first = ledger.find_secret(VICTIM).labels["AWSCURRENT"]
    for value in ("rotated-2", "rotated-3"):
        ledger.call("PutSecretValue", {"SecretId": VICTIM, "SecretString": value}, caller)
    version_cleanup(ledger, caller, clock)
    assert first not in ledger.find_secret(VICTIM).versions
    with pytest.raises(LedgerError):
        ledger.call("GetSecretValue", {"SecretId": VICTIM, "VersionId": first}, caller)
    assert ledger.key_store.data_key(ledger.find_secret(VICTIM).id.hex, first) is None
