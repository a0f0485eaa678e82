"""A database writer rewrites an audit record's event and recomputes its one hash-chain row
(version 1 of its own stream: an unkeyed SHA-256). `audit lookup` and `audit export` must
refuse it when a signed digest covers it, and mark records no digest covers yet unproven."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import codec
from ledger.integrity.proof import GENESIS, canonical_bytes, chain_hash
from ledger.integrity.signing import public_key_pem
from tests.projections.conftest import make_ledger
from tools.cli import main

FORGED_IP = "203.0.113.66"


@pytest.fixture
def data_dir(tmp_path, clock, caller) -> Path:
    """Two secrets under a signed digest, then one call no digest covers yet."""
    ledger = make_ledger(tmp_path / "data", clock)
    ledger.call("CreateSecret", {"Name": "app/s1", "SecretString": "value-1"}, caller)
    clock.advance(minutes=5)
    ledger.call("CreateSecret", {"Name": "app/s2", "SecretString": "value-2"}, caller)
    ledger.write_digest()
    clock.advance(minutes=5)
    ledger.call("DescribeSecret", {"SecretId": "app/s2"}, caller)
    ledger.read_models.refresh_all()
    (tmp_path / "ledger.pem").write_text(ledger.integrity.public_key_pem())
    ledger.close()
    return tmp_path / "data"


def forge(data_dir: Path, operation: str, name: str) -> int:
    """Rewrite the call's source IP and user agent, recompute its chain row; its position."""
    db = sqlite3.connect(data_dir / "ledger.db")
    with db:
        for rowid, oid, version, topic, state in db.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM "
                "stored_events WHERE topic LIKE '%ApiCallRecorded%' ORDER BY rowid"):
            event = codec.unpack(state)
            if event["context"]["operation"] == operation and name in repr(event):
                event["context"].update(source_ip=FORGED_IP, user_agent="evil-laptop")
                forged = codec.pack(event)
                db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (forged, rowid))
                db.execute("UPDATE event_hashes SET hash = ? WHERE originator_id = ? AND "
                           "originator_version = ?",
                           (chain_hash(GENESIS, canonical_bytes(oid, version, topic, forged)),
                            oid, version))
                break
    db.close()
    return rowid


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_refused(status: int, out: str, err: str, position: int) -> None:
    assert status == 1 and FORGED_IP not in out
    assert f"the audit record at log position {position} cannot be trusted" in err
    assert len(err.strip().splitlines()) == 1


def test_lookup_refuses_a_record_forged_under_a_signed_digest(data_dir, capsys):
    position = forge(data_dir, "CreateSecret", "app/s1")
    assert_refused(*run(capsys, "audit", "lookup", "--data-dir", str(data_dir),
                        "--resource-name", "app/s1"), position)
    assert_refused(*run(capsys, "audit", "lookup", "--data-dir", str(data_dir),
                        "--records", "--public-key", str(data_dir.parent / "ledger.pem")),
                   position)


def test_export_refuses_a_record_forged_under_a_signed_digest(data_dir, capsys):
    position = forge(data_dir, "CreateSecret", "app/s1")
    for fmt in ("cloudtrail", "jsonl"):
        assert_refused(*run(capsys, "audit", "export", "--data-dir", str(data_dir),
                            "--format", fmt), position)


def test_records_after_the_last_digest_are_shown_marked_unproven(data_dir, capsys):
    status, out, err = run(capsys, "audit", "lookup", "--data-dir", str(data_dir),
                           "--resource-name", "app/s2")
    assert status == 0
    page = json.loads(out)
    describe, create = page["Events"]
    assert page["UnprovenEventIds"] == [describe["EventId"]]
    assert "1 of the records shown (EventIds in UnprovenEventIds) is after" in err
    status, out, err = run(capsys, "audit", "export", "--data-dir", str(data_dir),
                           "--format", "jsonl")
    assert status == 0 and len(out.splitlines()) == 3
    assert "1 of the records shown (the last: log positions" in err and "unproven" in err


def test_a_proven_page_has_no_unproven_mark(data_dir, capsys):
    status, out, err = run(capsys, "audit", "lookup", "--data-dir", str(data_dir),
                           "--resource-name", "app/s1", "--public-key",
                           str(data_dir.parent / "ledger.pem"))
    assert status == 0 and "UnprovenEventIds" not in json.loads(out) and err == ""


def test_records_are_refused_under_a_key_that_did_not_sign_them(data_dir, tmp_path, capsys):
    (tmp_path / "other.pem").write_text(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    status, out, err = run(capsys, "audit", "lookup", "--data-dir", str(data_dir),
                           "--resource-name", "app/s1", "--public-key",
                           str(tmp_path / "other.pem"))
    assert status == 1 and out == "" and "signed by no trusted key" in err


def test_deleting_the_covering_digest_does_not_make_a_forgery_unproven(data_dir, capsys):
    """With the published files, the deleted digest still proves (and so refuses)."""
    digests = data_dir.parent / "digests"
    assert main(["digest", "--data-dir", str(data_dir), "--digest-dir", str(digests)]) == 0
    capsys.readouterr()
    position = forge(data_dir, "CreateSecret", "app/s1")
    with sqlite3.connect(data_dir / "ledger.db") as db:
        db.execute("DELETE FROM digests")
    assert_refused(*run(capsys, "audit", "lookup", "--data-dir", str(data_dir),
                        "--resource-name", "app/s1", "--digests", str(digests)), position)


def test_an_unreadable_public_key_is_a_usage_mistake(data_dir, tmp_path, capsys):
    (tmp_path / "bad.pem").write_text("not a key")
    status, out, err = run(capsys, "audit", "export", "--data-dir", str(data_dir),
                           "--public-key", str(tmp_path / "bad.pem"))
    assert status == 2 and out == "" and err.startswith("audit export: cannot read the public")
