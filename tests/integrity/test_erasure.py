"""Erasure does not depend on the database's readers.

Another process holds a read transaction on ledger.db (SQLite then keeps, in its WAL, every row
the reader may still see, destroyed key rows included) while a secret is force deleted. The call
must not wait for that reader, and once it has returned (the erasure is complete when it
returns) no copy of the data directory, taken while the reader still holds its snapshot, opens
the deleted values or checks their fingerprints: the thief keeps the old ciphertexts from the
log and tries every key it can find in the copy, in every state the copy's WAL holds.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.errors import LedgerError
from ledger.secret import Limits
from ledger.values import encryption_context
from tests.integrity.conftest import open_ledger
from tests.integrity.thief import Thief, files_holding

VICTIM = "prod/atm-pin"
PINS = ("4821", "0917", "3306")
READER_HOLDS = 40  # seconds: the reader lets go on its own only after this (the test asks sooner)
# If anything waited for the reader, it would wait until the reader let go on its own.
NEVER_GIVE_UP = {"SQLITE_LOCK_TIMEOUT": "600"}

READER = """
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN")
seen = db.execute("SELECT COUNT(*) FROM data_keys").fetchone()[0]
print("holding", seen, flush=True)
ready, _, _ = select.select([sys.stdin], [], [], float(sys.argv[2]))
if ready:
    still = db.execute("SELECT COUNT(*) FROM data_keys").fetchone()[0]
    print("still holding", still, flush=True)
else:
    print("gave up", flush=True)
db.execute("COMMIT")
"""


class Reader:
    """A second process holding a read snapshot of ledger.db until asked, or READER_HOLDS."""

    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", READER, str(db), str(READER_HOLDS)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.rows_seen = int(self.process.stdout.readline().split()[1])

    def still_holding(self) -> bool:
        """True if the reader kept its snapshot until now (it still sees the rows it saw)."""
        try:
            self.process.stdin.write("check\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it let go on its own and is gone; its last word says so
        answer = self.process.stdout.readline().split()
        self.process.wait()
        return answer[:2] == ["still", "holding"] and int(answer[2]) == self.rows_seen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def victim_ledger(tmp_path, clock, caller):
    data_dir = tmp_path / "data"
    ledger = open_ledger(data_dir, clock, env=NEVER_GIVE_UP, limits=Limits(max_versions=5))
    for i in range(20):  # neighbours on the same pages
        ledger.call("CreateSecret", {"Name": f"app/{i}", "SecretString": f"other-{i}"}, caller)
    ledger.call("CreateSecret", {"Name": VICTIM, "SecretString": PINS[0]}, caller)
    for pin in PINS[1:]:
        ledger.call("PutSecretValue", {"SecretId": VICTIM, "SecretString": pin}, caller)
    yield ledger, data_dir
    ledger.close()


def victim_versions(ledger) -> list[tuple[bytes, dict[str, str], str]]:
    """(ciphertext, encryption context, fingerprint) of each version: the log keeps them."""
    secret = ledger.find_secret(VICTIM)
    return [(v.sealed.ciphertext, encryption_context(secret.arn, vid), v.sealed.fingerprint)
            for vid, v in secret.versions.items()]


def recovers(thief: Thief, versions) -> tuple[int, int]:
    """How many ciphertexts the thief opens, and how many fingerprints it can check (it
    tries every 4-digit PIN, as the 10,000-guess attack did)."""
    opened = sum(thief.opens(ciphertext, context) for ciphertext, context, _ in versions)
    pins = [f"{n:04d}".encode() for n in range(10_000)]
    checked = thief.checked_fingerprints([fp for _, _, fp in versions], "SecretString", pins)
    return opened, len(checked)


def test_a_force_delete_erases_while_another_process_holds_a_read_snapshot(
        victim_ledger, tmp_path, caller):
    ledger, data_dir = victim_ledger
    versions = victim_versions(ledger)
    arns = {s.id.hex: s.arn for s in ledger.all_secrets()}
    victim_hex = ledger.find_secret(VICTIM).id.hex
    record = (data_dir / "keys" / f"secret.{victim_hex}.key").read_bytes()
    before = tmp_path / "before"
    shutil.copytree(data_dir, before)

    reader = Reader(data_dir / "ledger.db")
    try:
        ledger.call("DeleteSecret", {"SecretId": VICTIM, "ForceDeleteWithoutRecovery": True},
                    caller)
        assert ledger.call("GetSecretValue", {"SecretId": "app/3"}, caller)["SecretString"] \
            == "other-3"  # reads go on too
        after = tmp_path / "after"
        shutil.copytree(data_dir, after)  # the WAL still holds what the reader may see
        assert reader.still_holding(), "an API call waited for an outside reader"
    finally:
        reader.stop()

    assert recovers(Thief(before, arns), versions) == (3, 3)  # the thief is able
    assert files_holding(after, record) == []
    assert recovers(Thief(after, arns), versions) == (0, 0)
    with pytest.raises(LedgerError):
        ledger.call("GetSecretValue", {"SecretId": VICTIM}, caller)


def test_an_erasure_a_crash_interrupted_is_finished_on_the_next_open(
        victim_ledger, clock, caller, monkeypatch):
    ledger, data_dir = victim_ledger
    victim_hex = ledger.find_secret(VICTIM).id.hex
    record = data_dir / "keys" / f"secret.{victim_hex}.key"
    monkeypatch.setattr(type(ledger.recorder), "erase_files", lambda self, names: None)
    ledger.call("DeleteSecret", {"SecretId": VICTIM, "ForceDeleteWithoutRecovery": True}, caller)
    assert record.exists()  # the crash: committed, not yet erased
    assert ledger.pending_erasures() == [f"secret:{victim_hex}"]
    monkeypatch.undo()

    reopened = open_ledger(data_dir, clock)
    assert not record.exists()
    assert reopened.pending_erasures() == []
    assert len(list((data_dir / "keys").glob("secret.*.key"))) == 20  # the neighbours' stay
    reopened.close()
