"""Crypto-shredding: once a secret is finally deleted, or a version is cleaned up, nothing in
a copy of the data directory can open its old ciphertext, while the log, its chain, its
digests and the audit trail stay whole.

A deleted secret's key record is a file the deletion erases; a removed version's key row is
deleted with SQLite's secure_delete (freed space zeroed), and the save is followed by a WAL
checkpoint that does not wait for readers (here there are none; tests/integrity/test_erasure.py
has a reader). The tests take their copy right after the deleting call and run no checkpoint of
their own; the thief (tests/integrity/thief.py) tries every key the copy holds.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.calls import ApiCallRecorded
from ledger.errors import LedgerError
from ledger.integrity.signing import load_public_key
from ledger.secret import Limits
from ledger.values import encryption_context
from tests.integrity.conftest import open_ledger
from tests.integrity.thief import Thief, files_holding

VICTIM = "prod/payments-db"


@dataclass
class Sealed:
    version_id: str
    ciphertext: bytes
    wrapped_key: bytes
    context: dict[str, str]


def arns(ledger) -> dict[str, str]:
    return {s.id.hex: s.arn for s in ledger.all_secrets()}


def sealed_versions(ledger, name: str) -> dict[str, Sealed]:
    secret = ledger.find_secret(name)
    out = {}
    for version_id, version in secret.versions.items():
        data_key = ledger.key_store.data_key(secret.id.hex, version_id)
        out[version_id] = Sealed(version_id, version.sealed.ciphertext, data_key.wrapped,
                                 encryption_context(secret.arn, version_id))
    return out


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
    known = arns(ledger)
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

    thief = Thief(copy, known)
    reopened = open_ledger(copy, clock, limits=Limits(max_versions=3))
    for sealed in destroyed:
        assert files_holding(copy, sealed.wrapped_key) == []  # db, -wal and -shm alike
        assert files_holding(copy, sealed.ciphertext) != []  # the log itself is untouched
        assert not thief.opens(sealed.ciphertext, sealed.context)
    for sealed in kept:
        assert thief.opens(sealed.ciphertext, sealed.context)  # the search finds live keys

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
