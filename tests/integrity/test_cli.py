"""`secrets-ledger verify | prove | check-proof | digest | public-key | purge`."""
from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timezone

import pytest

from ledger.integrity.proof import check_proof
from tests.conftest import Clock
from tests.integrity.conftest import open_ledger
from tools.cli import main


@pytest.fixture
def signed_dir(tmp_path, caller):
    """A digest, then an event no digest covers yet: a recent one (verify uses the real
    clock; an old uncovered event would make it report that nothing proves it, status 3)."""
    data_dir = tmp_path / "data"
    ledger = open_ledger(data_dir, Clock(datetime.now(timezone.utc)))
    for i in range(3):
        ledger.call("CreateSecret", {"Name": f"s{i}", "SecretString": "v"}, caller)
    ledger.write_digest()
    ledger.call("PutSecretValue", {"SecretId": "s1", "SecretString": "w"}, caller)
    (tmp_path / "ledger.pem").write_text(ledger.integrity.public_key_pem())
    return data_dir


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_of_an_intact_ledger_exits_0(signed_dir, tmp_path, capsys):
    code, out, _ = run(capsys, "verify", "--data-dir", str(signed_dir),
                       "--public-key", str(tmp_path / "ledger.pem"))
    assert code == 0
    assert "Digest file 1 (positions 1-" in out and "1/1 digest files valid" in out
    assert "not yet covered by a digest: valid" in out


def test_verify_names_a_modified_event_and_exits_1(signed_dir, tmp_path, capsys):
    with sqlite3.connect(signed_dir / "ledger.db") as db:
        db.execute("UPDATE stored_events SET state = state || x'00' WHERE rowid = 2")
    code, out, _ = run(capsys, "verify", "--data-dir", str(signed_dir),
                       "--public-key", str(tmp_path / "ledger.pem"))
    assert code == 1
    assert "INVALID: modified; first bad position 2" in out
    assert "First bad log position: 2" in out


def test_an_auditor_verifies_a_copy_without_the_root_key(signed_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(signed_dir, copy)
    (copy / "root.key").unlink()
    code, _, err = run(capsys, "verify", "--data-dir", str(copy))
    assert code == 2 and "--public-key" in err
    code, out, _ = run(capsys, "verify", "--data-dir", str(copy), "--public-key",
                       str(tmp_path / "ledger.pem"))
    assert code == 0, out
    assert not (copy / "root.key").exists()  # verification wrote nothing


def test_verify_from_to_takes_iso_times(signed_dir, tmp_path, capsys):
    code, out, _ = run(capsys, "verify", "--data-dir", str(signed_dir), "--public-key",
                       str(tmp_path / "ledger.pem"), "--from", "2030-01-01T00:00:00Z")
    assert code == 0
    assert "Results requested for 2030-01-01T00:00:00Z to now" in out
    assert "0/0 digest files valid" in out


def test_prove_prints_a_proof_the_public_key_accepts(signed_dir, tmp_path, capsys):
    code, out, _ = run(capsys, "prove", "--data-dir", str(signed_dir), "3")
    assert code == 0
    assert check_proof(out, (tmp_path / "ledger.pem").read_text())
    code, _, err = run(capsys, "prove", "--data-dir", str(signed_dir), "9999")
    assert code == 1 and "no event at log position 9999" in err


def test_check_proof_needs_only_the_proof_and_the_public_key(signed_dir, tmp_path, capsys):
    _, proof_text, _ = run(capsys, "prove", "--data-dir", str(signed_dir), "3")
    proof_file, pem = tmp_path / "proof.json", str(tmp_path / "ledger.pem")
    proof_file.write_text(proof_text)
    shutil.rmtree(signed_dir)  # a third party has no ledger
    code, out, _ = run(capsys, "check-proof", str(proof_file), "--public-key", pem)
    proof = json.loads(proof_text)
    assert code == 0 and out.startswith("valid: event ")
    assert f"at log position {proof['event']['position']} is in digest 1" in out
    proof["event"]["state"] = proof["event"]["state"][:-4] + "AAAA"  # another event's bytes
    proof_file.write_text(json.dumps(proof))
    code, out, _ = run(capsys, "check-proof", str(proof_file), "--public-key", pem)
    assert code == 1 and out.startswith("INVALID")


def test_digest_and_public_key_commands(signed_dir, tmp_path, capsys):
    code, out, _ = run(capsys, "digest", "--data-dir", str(signed_dir))
    summary = json.loads(out)
    assert code == 0 and summary["sequence"] == 2 and summary["event_count"] > 0
    code, out, _ = run(capsys, "public-key", "--data-dir", str(signed_dir))
    assert code == 0 and out == (tmp_path / "ledger.pem").read_text()


def test_purge_ends_recovery_windows_that_have_passed(tmp_path, caller, capsys):
    past = Clock(datetime(2020, 1, 1, tzinfo=timezone.utc))
    ledger = open_ledger(tmp_path / "data", past)
    created = ledger.call("CreateSecret", {"Name": "old", "SecretString": "v"}, caller)
    ledger.call("DeleteSecret", {"SecretId": "old", "RecoveryWindowInDays": 7}, caller)
    code, out, _ = run(capsys, "purge", "--data-dir", str(tmp_path / "data"))
    assert code == 0 and json.loads(out) == {"Purged": [created["ARN"]]}
    code, out, _ = run(capsys, "purge", "--data-dir", str(tmp_path / "data"))
    assert json.loads(out) == {"Purged": []}


@pytest.mark.parametrize("argv", [
    ["verify"], ["verify", "--public-key", "PEM"], ["prove", "1"], ["public-key"], ["digest"],
    ["purge"], ["audit", "lookup"], ["history", "prod/db"], ["report"],
])
def test_a_read_or_audit_command_on_a_directory_without_a_ledger_says_so_and_creates_none(
        argv, signed_dir, tmp_path, capsys):
    """A mistyped --data-dir must not 'verify' a new, empty ledger and report it valid."""
    missing = tmp_path / "typo"
    argv = [str(tmp_path / "ledger.pem") if arg == "PEM" else arg for arg in argv]
    code, out, err = run(capsys, *argv, "--data-dir", str(missing))
    assert code == 2 and out == ""
    assert f"no ledger in {missing}" in err
    assert not missing.exists()


@pytest.mark.parametrize("argv", [["inspect", "s1"], ["replay"], ["history", "s1"]])
def test_a_command_meeting_an_undecodable_event_points_to_verify_without_a_traceback(
        argv, signed_dir, capsys):
    with sqlite3.connect(signed_dir / "ledger.db") as db:
        db.execute("UPDATE stored_events SET state = X'c1c1c1' WHERE rowid = (SELECT "
                   "MAX(rowid) FROM stored_events WHERE topic LIKE 'ledger.events:%')")
        # 0xc1 is never valid msgpack: s1's last event no longer decodes
    db.close()
    code, _, err = run(capsys, *argv, "--data-dir", str(signed_dir))
    assert code == 1
    assert "the log cannot be read" in err and "secrets-ledger verify" in err
    assert "Traceback" not in err
    code, out, _ = run(capsys, "verify", "--data-dir", str(signed_dir))
    assert code == 1 and "modified" in out
