"""The CLI on damaged or foreign data, and on a closed pipe: one line on stderr, no traceback."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integrity.conftest import open_ledger
from tools.cli import main

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path, clock, caller) -> Path:
    data_dir = tmp_path / "data"
    ledger = open_ledger(data_dir, clock)
    for i in range(3):
        ledger.call("CreateSecret", {"Name": f"s{i}", "SecretString": "v"}, caller)
    ledger.write_digest()
    ledger.close()
    return data_dir


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def set_material(data_dir: Path, name: str, value: object) -> None:
    with sqlite3.connect(data_dir / "ledger.db") as db:
        assert db.execute("UPDATE key_materials SET wrapped = ? WHERE name = ?",
                          (value, name)).rowcount == 1
    db.close()


@pytest.mark.parametrize("garbage", [b"\x00\x11\x22\x33", "not even bytes"],
                         ids=["bytes", "text"])
def test_verify_names_a_garbage_signing_key_row_as_tampering(data_dir, capsys, garbage):
    set_material(data_dir, "digest-signing-key", garbage)
    code, out, err = run(capsys, "verify", "--data-dir", str(data_dir))
    assert code == 1 and out == ""
    assert "key store row digest-signing-key is not a valid signing key" in err
    assert "--public-key" in err and len(err.strip().splitlines()) == 1


def test_a_garbage_key_record_met_by_another_command_is_one_line(data_dir, capsys, monkeypatch):
    record = next((data_dir / "keys").glob("secret.*.key"))
    record.write_bytes(b"\x01" * 92)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115 (closed by pytest)
    code, _, err = run(capsys, "audit", "hash", "--value-stdin", "--data-dir", str(data_dir))
    assert code == 1
    assert "does not open under the root key" in err and len(err.strip().splitlines()) == 1


def _truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _replace_with_text(path: Path) -> None:
    path.write_bytes(b"these are not the pages of a database\n" * 100)


@pytest.mark.parametrize("damage", [_truncate, _replace_with_text],
                         ids=["truncated", "not-a-database"])
@pytest.mark.parametrize("argv", [["verify"], ["audit", "lookup"], ["inspect"], ["replay"],
                                  ["call", "ListSecrets"], ["principals", "list"]],
                         ids=lambda argv: " ".join(argv))
def test_a_damaged_database_file_is_one_line_not_a_traceback(data_dir, capsys, damage, argv):
    for extra in data_dir.glob("ledger.db-*"):
        extra.unlink()
    damage(data_dir / "ledger.db")
    code, out, err = run(capsys, *argv, "--data-dir", str(data_dir))
    assert code == 1 and out == ""
    assert "the ledger's database cannot be read" in err
    assert len(err.strip().splitlines()) == 1


def test_output_into_a_closed_pipe_ends_quietly(data_dir):
    """`secrets-ledger audit lookup | head -3`: the reader leaves early; no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    try:
        done = subprocess.run([sys.executable, "-m", "tools.cli", "audit", "lookup",
                               "--data-dir", str(data_dir)], stdout=write_end,
                              stderr=subprocess.PIPE, cwd=PROJECT, env=env, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == b""
    assert done.returncode == 1


@pytest.mark.parametrize("argv", [["call", "ListSecrets"], ["audit", "lookup"], ["verify"]],
                         ids=lambda argv: " ".join(argv))
def test_a_root_key_that_is_not_a_key_is_one_line_and_exit_2(data_dir, capsys, argv):
    (data_dir / "root.key").write_text("not base64 at all\n")
    code, out, err = run(capsys, *argv, "--data-dir", str(data_dir))
    assert code == 2 and out == ""
    assert f"{data_dir / 'root.key'} is not base64" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [
    ["audit", "export", "--output", "/nonexistent/dir/trail.json", "--data-dir", "DATA"],
    ["audit", "hash", "--binary-file", "/nonexistent/candidate", "--data-dir", "DATA"],
    ["check-proof", "/nonexistent/proof.json", "--public-key", "/nonexistent/key.pem"],
], ids=["export-output", "hash-binary-file", "check-proof"])
def test_a_file_argument_that_cannot_be_opened_is_one_line_and_exit_2(data_dir, capsys, argv):
    argv = [str(data_dir) if arg == "DATA" else arg for arg in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert "No such file or directory: '/nonexistent/" in err
    assert len(err.strip().splitlines()) == 1
