"""A KMS key whose pending-deletion window has ended is deleted by the ledger itself: its
material is destroyed in the key store, so nothing in a copy of the data directory can open
the versions it protected, while the log, its digests and the audit trail stay whole."""
from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing

import pytest

from ledger.errors import DecryptionFailure, EncryptionFailure
from ledger.integrity.signing import load_public_key
from ledger.keys import envelope
from ledger.keys.admin import KeyAdmin, KeyAdminError
from ledger.keys.kms_key import DELETED, DISABLED
from tests.integrity.conftest import open_ledger
from tests.integrity.test_shredding import VICTIM, api_calls, files_holding, sealed_versions


def wrapped_material(data_dir, key_id: str) -> bytes | None:
    """The key's sealed material: its file under keys/, or a row for keys made before those."""
    path = data_dir / "keys" / f"kms.{key_id}.key"
    if path.exists():
        return path.read_bytes()
    with closing(sqlite3.connect(data_dir / "ledger.db")) as db:
        row = db.execute("SELECT wrapped FROM key_materials WHERE name = ?",
                         (f"kms:{key_id}",)).fetchone()
    return bytes(row[0]) if row else None


def test_a_key_past_its_pending_window_is_deleted_and_its_versions_cannot_be_opened(
        tmp_path, clock, caller):
    data_dir = tmp_path / "data"
    ledger = open_ledger(data_dir, clock)
    admin = KeyAdmin(ledger)
    key = admin.create("payments")
    ledger.call("CreateSecret", {"Name": VICTIM, "SecretString": "under-the-cmk",
                                 "KmsKeyId": key.arn}, caller)
    sealed = list(sealed_versions(ledger, VICTIM).values())
    material = wrapped_material(data_dir, key.key_id)
    assert material is not None
    ledger.write_digest()
    public_pem = ledger.integrity.public_key_pem()

    admin.schedule_deletion(key.arn, 7)
    clock.advance(days=6, hours=23)
    assert ledger.purge_expired() == []  # still within its window
    clock.advance(hours=1, minutes=1)
    assert ledger.purge_expired() == [key.arn]
    assert ledger.purge_expired() == []  # once only

    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    assert files_holding(copy, material) == []  # db, -wal and -shm alike
    reopened = open_ledger(copy, clock)
    remaining = [reopened.kms._root_key] + [
        reopened.kms._material(k) for k in reopened.kms.all_keys() if k.state != DELETED]
    for version in sealed:
        for candidate in remaining:
            with pytest.raises(envelope.SealBroken):
                envelope.open_sealed(candidate, version.wrapped_key,
                                     envelope.context_aad(version.context))

    with pytest.raises(DecryptionFailure):
        reopened.call("GetSecretValue", {"SecretId": VICTIM}, caller)
    with pytest.raises(EncryptionFailure):
        reopened.call("PutSecretValue", {"SecretId": VICTIM, "SecretString": "new"}, caller)
    with pytest.raises(KeyAdminError, match="No KMS key"):
        KeyAdmin(reopened).enable(key.arn)
    assert [k.state for k in reopened.kms.all_keys() if k.key_id == key.key_id] == [DELETED]

    deletions = [r for r in api_calls(reopened) if r.event_type == "AwsServiceEvent"]
    assert [(r.context["operation"], r.resources) for r in deletions] == [
        ("DeleteKey", [key.arn])]
    report = reopened.integrity.verify(load_public_key(public_pem))
    assert report.ok, "\n".join(report.lines())


def test_a_cancelled_deletion_leaves_the_key_and_its_material(tmp_path, clock, caller):
    data_dir = tmp_path / "data"
    ledger = open_ledger(data_dir, clock)
    admin = KeyAdmin(ledger)
    key = admin.create("payments")
    admin.schedule_deletion(key.arn, 7)
    clock.advance(days=1)
    admin.cancel_deletion(key.arn)
    clock.advance(days=30)
    assert ledger.purge_expired() == []
    assert admin.key(key.arn).state == DISABLED
    assert wrapped_material(data_dir, key.key_id) is not None


def test_a_deletion_cannot_be_cancelled_once_its_window_has_ended(tmp_path, clock):
    ledger = open_ledger(tmp_path / "data", clock)
    admin = KeyAdmin(ledger)
    key = admin.create("payments")
    admin.schedule_deletion(key.arn, 7)
    clock.advance(days=7, seconds=1)
    with pytest.raises(KeyAdminError, match="has ended"):
        admin.cancel_deletion(key.arn)
    assert ledger.purge_expired() == [key.arn]


def test_a_deleted_keys_aliases_go_with_it_and_may_name_a_new_key(tmp_path, clock, caller):
    ledger = open_ledger(tmp_path / "data", clock)
    admin = KeyAdmin(ledger)
    old = admin.create("payments", alias="alias/payments")
    admin.schedule_deletion(old.arn, 7)
    clock.advance(days=8)
    assert ledger.purge_expired() == [old.arn]
    with pytest.raises(EncryptionFailure):  # the alias names no key now
        ledger.call("CreateSecret", {"Name": "new/one", "SecretString": "v",
                                     "KmsKeyId": "alias/payments"}, caller)
    assert [a.key_id for a in ledger.kms.all_aliases() if a.alias == "alias/payments"] == [None]
    new = admin.create("payments again", alias="alias/payments")
    version = ledger.call("CreateSecret", {"Name": "new/one", "SecretString": "v",
                                           "KmsKeyId": "alias/payments"}, caller)["VersionId"]
    secret = ledger.find_secret("new/one")
    assert ledger.key_store.data_key(secret.id.hex, version).key_arn == new.arn
    assert admin.key("alias/payments").key_id == new.key_id
