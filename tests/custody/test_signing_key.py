"""The digest signing key in a file outside the data directory: a stolen copy of the data
directory holds no key that signs for the ledger, so whatever it signs fails `verify`."""
from __future__ import annotations

import json
import sqlite3
import stat
from contextlib import closing

from cryptography.hazmat.primitives import serialization

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.integrity.signing import read_signing_key_file
from ledger.keys.custody import SigningKeyChanged
from tests.custody.support import cli, every_file, materials, ok, steal


def _raw(private_key) -> bytes:
    return private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())


def _ledger_with_digest(tmp_path, *extra: str):
    data, key = tmp_path / "data", tmp_path / "keys" / "signing.pem"
    key.parent.mkdir()
    published = ok("signing-key", "create", str(key))
    (tmp_path / "published.pem").write_text(published)
    for i in range(3):
        ok("call", "--data-dir", str(data), "CreateSecret",
           json.dumps({"Name": f"app/{i}", "SecretString": f"value-{i}"}))
    ok("digest", "--data-dir", str(data), "--signing-key", str(key), *extra)
    return data, key


def test_signing_key_create_writes_a_private_pem_and_prints_the_key_to_publish(tmp_path):
    key = tmp_path / "signing.pem"
    printed = ok("signing-key", "create", str(key))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert printed == ok("public-key", "--signing-key", str(key))
    again = cli("signing-key", "create", str(key))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr


def test_a_signing_key_file_others_can_read_is_refused(tmp_path):
    key = tmp_path / "signing.pem"
    ok("signing-key", "create", str(key))
    key.chmod(0o644)
    refused = cli("public-key", "--signing-key", str(key))
    assert refused.returncode == 2 and "chmod 600" in refused.stderr


def test_a_signing_key_file_is_never_written_into_the_data_directory(tmp_path):
    data, key = _ledger_with_digest(tmp_path)
    raw = _raw(read_signing_key_file(key))
    assert "digest-signing-key" not in materials(data / "ledger.db")
    for path in every_file(data):
        assert raw not in path.read_bytes(), path


def test_a_stolen_data_directory_cannot_forge_a_digest_the_published_key_accepts(tmp_path):
    """The attack: with a copy of the data directory, drop the last event (the chain stays
    consistent: it was a tip), delete every digest and sign a new one with whatever the copy
    holds. The published public key must not accept it."""
    data, _ = _ledger_with_digest(tmp_path)
    published = str(tmp_path / "published.pem")
    assert cli("verify", "--data-dir", str(data), "--public-key", published).returncode == 0
    copy = steal(data, tmp_path / "stolen")
    with closing(sqlite3.connect(copy / "ledger.db")) as db, db:
        rowid, oid, version = db.execute("SELECT rowid, originator_id, originator_version "
                                         "FROM stored_events ORDER BY rowid DESC").fetchone()
        db.execute("DELETE FROM stored_events WHERE rowid = ?", (rowid,))
        db.execute("DELETE FROM event_hashes WHERE originator_id = ? AND originator_version = ?",
                   (oid.hex() if isinstance(oid, bytes) else oid, version))
        db.execute("DELETE FROM digests")
    ok("digest", "--data-dir", str(copy))  # the attacker signs with what the copy holds
    checked = cli("verify", "--data-dir", str(copy), "--public-key", published)
    assert checked.returncode == 1, checked.stdout
    assert "public key not found for fingerprint" in checked.stdout


def test_a_key_file_replacing_the_stored_key_is_recorded_and_the_stored_key_destroyed(tmp_path):
    data = tmp_path / "data"
    ok("call", "--data-dir", str(data), "CreateSecret",
       json.dumps({"Name": "app/db", "SecretString": "s3cret"}))
    ok("digest", "--data-dir", str(data))  # signed by the key kept in the key store
    stored_pem = ok("public-key", "--data-dir", str(data))
    ledger = SecretsLedger(LedgerConfig(data_dir=data, digest_interval=None))
    old = ledger.integrity.signer.fingerprint
    stored_wrapped = materials(data / "ledger.db")["digest-signing-key"]
    ledger.close()

    key = tmp_path / "signing.pem"
    new_pem = ok("signing-key", "create", str(key))
    summary = json.loads(ok("digest", "--data-dir", str(data), "--signing-key", str(key)))
    assert ok("public-key", "--data-dir", str(data), "--signing-key", str(key)) == new_pem
    assert new_pem != stored_pem
    (tmp_path / "old.pem").write_text(stored_pem)
    (tmp_path / "new.pem").write_text(new_pem)
    both = cli("verify", "--data-dir", str(data), "--public-key", str(tmp_path / "old.pem"),
               "--public-key", str(tmp_path / "new.pem"))
    assert both.returncode == 0, both.stdout  # each digest checked with the key it names

    ledger = SecretsLedger(LedgerConfig(data_dir=data, digest_interval=None,
                                        signing_key_file=key))
    try:
        changes = [e for e in ledger.recorder.select_notifications(start=1, limit=10_000)
                   if e.topic.endswith("SigningKeyChanged")]
        assert len(changes) == 1
        event = ledger.mapper.to_domain_event(changes[0])
        assert isinstance(event, SigningKeyChanged)
        assert (event.old_fingerprint, event.new_fingerprint, event.external) == (
            old, ledger.integrity.signer.fingerprint, True)
        digests = ledger.integrity.store.digests()
        assert json.loads(digests[-1].body)["public_key_fingerprint"] == event.new_fingerprint
        assert changes[0].id <= summary["end_position"]  # the new key's first digest covers it
    finally:
        ledger.close()
    assert "digest-signing-key" not in materials(data / "ledger.db")
    copy = steal(data, tmp_path / "copy")
    for path in every_file(copy):  # nor in a freed page or the write-ahead log
        assert stored_wrapped not in path.read_bytes(), path
