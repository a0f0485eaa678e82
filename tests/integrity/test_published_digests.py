"""Digests published outside the database (`--digest-dir`) and checked against it
(`verify --digests`): attacks by someone who can write ledger.db, through the CLI."""
from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.integrity.digest_writer import DigestWriter
from ledger.integrity.proof import canonical_bytes, chain_hash, key_fingerprint
from ledger.integrity.publisher import DigestPublisher
from ledger.integrity.signing import SIGNING_KEY_MATERIAL, load_public_key, public_key_pem
from ledger.integrity.store import SQLiteIntegrityStore
from tests.conftest import Clock
from tests.integrity.conftest import open_ledger
from tools.cli import main

HOURS_AGO = 4  # the history starts this long before now; one digest per hour after it


@pytest.fixture
def clock() -> Clock:
    """Near the real time: `verify` judges what is overdue by the real clock."""
    return Clock(datetime.now(timezone.utc).replace(microsecond=0)
                 - timedelta(hours=HOURS_AGO))


@pytest.fixture
def ledger_dir(tmp_path, clock, caller) -> Path:
    """Three published digests, one an hour, over a few calls each; nothing uncovered."""
    data_dir = tmp_path / "data"
    ledger = open_ledger(data_dir, clock)
    ledger.integrity.publish_to(tmp_path / "published")  # as `serve --digest-dir` does
    for hour in range(3):
        for i in range(3):
            ledger.call("CreateSecret", {"Name": f"s{hour}-{i}", "SecretString": "v"}, caller)
        ledger.call("PutSecretValue", {"SecretId": f"s{hour}-0", "SecretString": "w"}, caller)
        clock.advance(hours=1)
        ledger.write_digest()
    (tmp_path / "ledger.pem").write_text(ledger.integrity.public_key_pem())
    ledger.close()
    return data_dir


@pytest.fixture
def published(tmp_path, ledger_dir) -> Path:
    return tmp_path / "published"


def verify(capsys, data_dir: Path, *extra: str, pem: Path | None = None) -> tuple[int, str]:
    pem = pem or data_dir.parent / "ledger.pem"
    code = main(["verify", "--data-dir", str(data_dir), "--public-key", str(pem), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out + err


def files(directory: Path) -> list[Path]:
    return sorted(directory.glob("digest-*.json"))


def sql(data_dir: Path, *statements: tuple) -> None:
    with sqlite3.connect(data_dir / "ledger.db") as db:
        for statement in statements:
            db.execute(*statement)
    db.close()


# ---- publishing ------------------------------------------------------------------------------

def test_each_digest_is_published_as_a_file_named_after_its_place_positions_and_time(
        published, ledger_dir, capsys):
    names = [p.name for p in files(published)]
    assert len(names) == 3 and names[0].startswith("digest-00000001_positions-1-")
    first, second = (json.loads(p.read_text()) for p in files(published)[:2])
    assert second["previous_digest_hash"] == first["digest_hash"]
    assert second["previous_digest_signature"] == first["signature"]
    pem = (ledger_dir.parent / "ledger.pem").read_text()
    assert second["public_key_fingerprint"] == key_fingerprint(load_public_key(pem))
    assert not [p for p in published.iterdir() if p.name.startswith(".")]  # no temp files left
    code, out = verify(capsys, ledger_dir, "--digests", str(published))
    assert code == 0, out
    assert "3/3 digest files valid" in out and "INVALID" not in out and "UNPROVEN" not in out


def test_digests_made_before_the_directory_was_configured_are_published_the_first_time(
        tmp_path, clock, caller, capsys):
    data_dir = tmp_path / "data"
    ledger = open_ledger(data_dir, clock)
    ledger.call("CreateSecret", {"Name": "a", "SecretString": "v"}, caller)
    ledger.write_digest()
    ledger.write_digest()
    ledger.close()
    assert main(["digest", "--data-dir", str(data_dir), "--digest-dir",
                 str(tmp_path / "out")]) == 0
    assert [p.name[:15] for p in files(tmp_path / "out")] == [
        "digest-00000001", "digest-00000002", "digest-00000003"]


def test_a_published_file_is_never_rewritten_and_a_second_identical_copy_is_fine(
        published, ledger_dir, capsys):
    last = files(published)[-1]
    original = last.read_bytes()
    store = SQLiteIntegrityStore.open_file(ledger_dir / "ledger.db")
    last.unlink()
    DigestPublisher(store, published).publish_pending()  # another process publishes it again
    assert last.read_bytes() == original
    DigestPublisher(store, published).publish_pending()  # and a third finds it there: fine
    last.write_bytes(original.replace(b'"sequence": 3', b'"sequence": 3 '))
    capsys.readouterr()
    assert main(["digest", "--data-dir", str(ledger_dir), "--digest-dir", str(published)]) == 1
    assert "already holds other content than digest 3" in capsys.readouterr().err
    assert last.read_bytes() != original  # left as found: evidence, not ours to repair


# ---- checking: the attacks -------------------------------------------------------------------

def test_all_digests_deleted_from_the_database_are_caught_with_the_published_files(
        published, ledger_dir, capsys):
    sql(ledger_dir, ("DELETE FROM digests",))
    code, out = verify(capsys, ledger_dir)
    assert code == 3, out  # before: "0/0 digest files valid" and status 0
    assert "UNPROVEN: no signed digest at all" in out
    assert "removed from the database" in out and "cannot be detected" in out
    code, out = verify(capsys, ledger_dir, "--digests", str(published))
    assert code == 1, out
    for sequence in (1, 2, 3):
        assert f"published digest {sequence} (positions " in out
    assert "missing from the database" in out


def test_the_last_digest_deleted_from_the_database_is_caught(published, ledger_dir, capsys):
    sql(ledger_dir, ("DELETE FROM digests WHERE sequence = 3",))
    last = json.loads(files(published)[-1].read_text())
    start, end = last["start_position"], last["end_position"]
    code, out = verify(capsys, ledger_dir, "--digests", str(published))
    assert code == 1, out
    assert (f"published digest 3 (positions {start}-{end}) missing from the database"
            in out)


def test_the_newest_files_deleted_from_the_directory_are_caught_by_max_age(
        published, ledger_dir, capsys):
    code, out = verify(capsys, ledger_dir, "--digests", str(published), "--max-age", "90m")
    assert code == 0, out
    files(published)[-1].unlink()
    code, out = verify(capsys, ledger_dir, "--digests", str(published))
    assert code == 0 and "digests 3-3 in the database are not published" in out
    code, out = verify(capsys, ledger_dir, "--digests", str(published), "--max-age", "90m")
    assert code == 1, out
    assert "the newest published digest (2) ended at " in out and "--max-age" in out


def test_a_file_missing_from_the_middle_of_the_published_chain_is_a_gap(
        published, ledger_dir, capsys):
    files(published)[1].unlink()
    code, out = verify(capsys, ledger_dir, "--digests", str(published))
    assert code == 1, out
    assert "digest file 2 (positions " in out and "a gap in the published chain" in out


def rewrite_event_and_chain(data_dir: Path, old: bytes, new: bytes) -> tuple[int, str]:
    """What someone with write access to ledger.db does: edit one event's bytes, then
    recompute its chain from there on, so every hash row matches the edited events.
    Returns the edited position and originator."""
    with sqlite3.connect(data_dir / "ledger.db") as db:
        position, oid, version, state = db.execute(
            "SELECT rowid, originator_id, originator_version, state FROM stored_events "
            "WHERE instr(state, ?) > 0 ORDER BY rowid LIMIT 1", (old,)).fetchone()
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                   (bytes(state).replace(old, new), position))
        previous = (bytes(32) if version == 1 else bytes(db.execute(
            "SELECT hash FROM event_hashes WHERE originator_id = ? AND originator_version = ?",
            (oid, version - 1)).fetchone()[0]))
        for v, topic, state in db.execute(
                "SELECT originator_version, topic, state FROM stored_events WHERE "
                "originator_id = ? AND originator_version >= ? ORDER BY originator_version",
                (oid, version)).fetchall():
            previous = chain_hash(previous, canonical_bytes(oid, v, topic, bytes(state)))
            db.execute("UPDATE event_hashes SET hash = ? WHERE originator_id = ? AND "
                       "originator_version = ?", (previous, oid, v))
    db.close()
    return position, oid


def test_events_rewritten_with_a_recomputed_chain_and_no_digest_rows_are_caught(
        published, ledger_dir, capsys):
    position, oid = rewrite_event_and_chain(ledger_dir, b"s1-1", b"s9-9")
    sql(ledger_dir, ("DELETE FROM digests",))
    code, out = verify(capsys, ledger_dir)
    assert code == 3 and "INVALID" not in out  # the chain alone is consistent again
    code, out = verify(capsys, ledger_dir, "--digests", str(published))
    assert code == 1, out
    assert f"the chain of {oid} ends at version" in out  # the edited chain, named ...
    assert f"First bad log position: {position}" in out  # ... from the edited event on


def test_the_newest_events_and_every_digest_deleted_from_the_database_are_caught(
        published, ledger_dir, capsys):
    """Truncating the log's end with its digests leaves a consistent chain behind; the files
    still say where the log ended."""
    end = json.loads(files(published)[-1].read_text())["end_position"]
    sql(ledger_dir, ("DELETE FROM event_hashes WHERE notification_id > ?", (end - 3,)),
        ("DELETE FROM stored_events WHERE rowid > ?", (end - 3,)), ("DELETE FROM digests",))
    code, out = verify(capsys, ledger_dir)
    assert code == 3 and "INVALID" not in out
    code, out = verify(capsys, ledger_dir, "--digests", str(published))
    assert code == 1, out
    for position in (end - 2, end - 1, end):
        assert f"position {position}: deleted" in out
    assert f"First bad log position: {end - 2}" in out


def test_a_digest_rewritten_and_re_signed_with_another_key_is_caught(
        published, ledger_dir, capsys, clock):
    """The stolen-data-directory case: with the signing key kept outside the data directory,
    an attacker holding a copy signs with a key of their own. The published files name the
    real key's fingerprint, and the database no longer matches them."""
    rewrite_event_and_chain(ledger_dir, b"s1-1", b"s9-9")
    sql(ledger_dir, ("DELETE FROM digests",))
    attacker = AttackerSigner()
    with sqlite3.connect(ledger_dir / "ledger.db", isolation_level=None) as db:
        @contextmanager
        def transaction(commit: bool = False):
            cursor = db.cursor()
            cursor.execute("BEGIN")
            yield cursor
            cursor.execute("COMMIT" if commit else "ROLLBACK")

        writer = DigestWriter(SQLiteIntegrityStore(transaction), attacker,
                              "secretsmanager:us-east-1:123456789012", clock)
        for _ in range(3):
            writer.write()
    db.close()
    code, out = verify(capsys, ledger_dir, "--digests", str(published))
    assert code == 1, out
    assert "digest 1 in the database differs from its published file" in out
    assert "digest 3 in the database differs from its published file" in out
    attacker_pem = ledger_dir.parent / "attacker.pem"
    attacker_pem.write_text(public_key_pem(attacker.key.public_key()))
    code, out = verify(capsys, ledger_dir, "--digests", str(published), pem=attacker_pem)
    assert code == 1 and "public key not found for fingerprint " in out  # files: real key


class AttackerSigner:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.fingerprint = key_fingerprint(self.key.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


def test_a_rotated_signing_key_verifies_with_both_public_keys_picked_by_fingerprint(
        published, ledger_dir, clock, caller, capsys):
    old_pem = ledger_dir.parent / "ledger.pem"
    sql(ledger_dir, ("DELETE FROM key_materials WHERE name = ?", (SIGNING_KEY_MATERIAL,)))
    ledger = open_ledger(ledger_dir, clock)  # signs with a fresh key from here on
    new_pem = ledger_dir.parent / "new.pem"
    new_pem.write_text(ledger.integrity.public_key_pem())
    ledger.call("CreateSecret", {"Name": "after", "SecretString": "v"}, caller)
    ledger.close()
    assert main(["digest", "--data-dir", str(ledger_dir), "--digest-dir", str(published)]) == 0
    capsys.readouterr()
    code, out = verify(capsys, ledger_dir, "--digests", str(published), "--public-key",
                       str(new_pem), pem=old_pem)
    assert code == 0, out
    assert "4/4 digest files valid" in out
    code, out = verify(capsys, ledger_dir, "--digests", str(published), pem=old_pem)
    assert code == 1 and "Digest file 4" in out and "public key not found for fingerprint" in out


# ---- exit 3: nothing proves a range ------------------------------------------------------------

def test_events_older_than_the_interval_and_grace_with_no_digest_are_unproven(
        ledger_dir, clock, caller, capsys, monkeypatch):
    ledger = open_ledger(ledger_dir, clock)
    code, out = verify(capsys, ledger_dir)
    assert code == 0, out
    clock.now = datetime.now(timezone.utc) - timedelta(minutes=90)
    ledger.call("CreateSecret", {"Name": "late", "SecretString": "v"}, caller)
    ledger.close()  # an event from 90 minutes ago that no digest covers
    code, out = verify(capsys, ledger_dir)
    assert code == 3, out
    assert "UNPROVEN: events " in out and "covered by no digest" in out
    assert "INVALID" not in out
    monkeypatch.setenv("LEDGER_DIGEST_INTERVAL", "7200")  # digests due every 2 hours
    code, out = verify(capsys, ledger_dir)
    assert code == 0, out


@pytest.mark.parametrize("argv, message", [
    (["--max-age", "90m"], "--max-age needs --digests"),
    (["--digests", "MISSING"], "cannot read the digest files"),
    (["--digests", "DIR", "--max-age", "soon"], "is not a duration"),
])
def test_verify_flag_mistakes_are_one_line_and_status_2(published, ledger_dir, capsys, argv,
                                                       message):
    argv = [{"MISSING": str(ledger_dir / "nope"), "DIR": str(published)}.get(a, a)
            for a in argv]
    try:
        code = main(["verify", "--data-dir", str(ledger_dir), "--public-key",
                     str(ledger_dir.parent / "ledger.pem"), *argv])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


# ---- a tampered directory: links, FIFOs, directories, huge files --------------------------------

def run_cli(*argv: str) -> subprocess.CompletedProcess:
    """The CLI in its own process, with a memory cap and a time limit: what these attacks
    did to the old code was exhaust memory or wait forever."""
    from tests.server.conftest import PROJECT

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([sys.executable, "-m", "tools.cli", *argv], cwd=PROJECT,
                          capture_output=True, text=True, timeout=60, preexec_fn=cap_memory,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)})


PLANTED = "digest-00000004_positions-99-99_20261203T000000Z.json"


def plant(published: Path, kind: str) -> None:
    path = published / PLANTED
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "dangling link":
        path.symlink_to(published / "nowhere")
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b" " * (2 << 20))


@pytest.mark.parametrize("kind, problem", [
    ("fifo", "is not a regular file"), ("link to /dev/zero", "is a symbolic link"),
    ("dangling link", "is a symbolic link"), ("directory", "is not a regular file"),
    ("2 MiB file", "is larger than 1048576 bytes"),
])
def test_an_entry_planted_with_a_digest_name_is_tampering_reported_never_waited_on(
        published, ledger_dir, kind, problem):
    plant(published, kind)
    done = run_cli("verify", "--data-dir", str(ledger_dir), "--digests", str(published),
                   "--public-key", str(ledger_dir.parent / "ledger.pem"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"file {PLANTED} {problem}" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_published_file_replaced_by_a_fifo_stops_neither_digest_nor_serve(
        published, ledger_dir):
    from tests.server.conftest import ROOT_ENV, ServerProcess
    first = files(published)[0]
    first.unlink()
    os.mkfifo(first)
    done = run_cli("digest", "--data-dir", str(ledger_dir), "--digest-dir", str(published))
    assert done.returncode == 1, done.stderr
    assert f"{first} is not a regular file; not published again" in done.stderr
    server = ServerProcess(ledger_dir, ROOT_ENV, ["--digest-dir", str(published)]).start()
    server.stop()
    assert f"warning: {first} is not a regular file; not published again" in server.stderr()


# ---- serve --digest-dir ------------------------------------------------------------------------

def test_serve_publishes_each_digest_it_writes(tmp_path, capsys):
    from tests.server.conftest import ROOT_ENV, ServerProcess, make_client
    data_dir, published = tmp_path / "data", tmp_path / "published"
    server = ServerProcess(data_dir, {**ROOT_ENV, "LEDGER_DIGEST_INTERVAL": "1"},
                           ["--digest-dir", str(published)]).start()
    try:
        make_client(server.url).create_secret(Name="served", SecretString="v")
        deadline = time.monotonic() + 60  # a digest falls due every second
        while len(files(published)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    assert len(files(published)) >= 2, server.stderr()
    assert main(["public-key", "--data-dir", str(data_dir)]) == 0
    (tmp_path / "ledger.pem").write_text(capsys.readouterr().out)
    code, out = verify(capsys, data_dir, "--digests", str(published))
    assert code == 0, out


# ---- several processes on PostgreSQL -----------------------------------------------------------

@pytest.mark.postgres
def test_on_postgres_the_processes_that_write_digests_publish_them_all_once(tmp_path):
    import os
    import subprocess
    import sys

    from tests.scaleout.pg import fresh_schema
    from tests.server.conftest import PROJECT
    published = tmp_path / "published"

    def cli(*args: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "LEDGER_STORE"}
        return subprocess.Popen([sys.executable, "-m", "tools.cli", *args, "--store", "postgres",
                                 "--data-dir", str(tmp_path / "d")], cwd=PROJECT,
                                env={**env, "POSTGRES_SCHEMA": schema}, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def done(process: subprocess.Popen) -> str:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err
        return out

    with fresh_schema() as schema:
        done(cli("digest"))  # a process that publishes nothing
        together = [cli("digest", "--digest-dir", str(published)) for _ in range(2)]
        sequences = sorted(json.loads(done(p))["sequence"] for p in together)
        assert sequences == [2, 3]
        assert [int(p.name[7:15]) for p in files(published)] == [1, 2, 3]
        (tmp_path / "ledger.pem").write_text(done(cli("public-key")))
        checked = cli("verify", "--public-key", str(tmp_path / "ledger.pem"),
                      "--digests", str(published))
        out, err = checked.communicate(timeout=120)
        assert checked.returncode == 0, out + err
        assert "3/3 digest files valid" in out
