"""`verify --from/--to` over a window an attacker emptied: a digest deleted or its body
corrupted, or a window no digest and no event reaches, must never read as "valid"."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from ledger.integrity.digest import Digest
from tests.conftest import Clock
from tests.integrity.conftest import open_ledger
from tools.cli import main


@pytest.fixture
def three_digests(tmp_path, caller):
    """Three digests an hour apart, each over a few calls; every event covered."""
    data_dir = tmp_path / "data"
    clock = Clock(datetime.now(timezone.utc) - timedelta(days=1))
    ledger = open_ledger(data_dir, clock)
    for hour in range(3):
        for i in range(2):
            clock.advance(minutes=10)
            ledger.call("CreateSecret", {"Name": f"s{hour}-{i}", "SecretString": "v"}, caller)
        clock.advance(minutes=30)
        ledger.write_digest()
    (tmp_path / "ledger.pem").write_text(ledger.integrity.public_key_pem())
    second = Digest.of(ledger.integrity.store.digests()[1])
    ledger.close()
    return data_dir, tmp_path / "ledger.pem", second


def verify(capsys, data_dir, pem, *window: str) -> tuple[int, str]:
    code = main(["verify", "--data-dir", str(data_dir), "--public-key", str(pem), *window])
    return code, capsys.readouterr().out


def inside(digest: Digest) -> list[str]:
    """A window strictly inside the digest's interval, touching no other digest."""
    begins = datetime.fromisoformat(digest.fields["digest_start_time"].replace("Z", "+00:00"))
    return ["--from", (begins + timedelta(minutes=1)).isoformat(),
            "--to", (digest.end_time - timedelta(minutes=1)).isoformat()]


def test_a_window_inside_a_deleted_digest_is_invalid(three_digests, capsys):
    data_dir, pem, second = three_digests
    with sqlite3.connect(data_dir / "ledger.db") as db:
        db.execute("DELETE FROM digests WHERE sequence = 2")
    assert verify(capsys, data_dir, pem)[0] == 1
    code, out = verify(capsys, data_dir, pem, *inside(second))
    assert code == 1, out
    assert "Digest file 2 INVALID: not found (deleted)" in out
    assert "no valid digest covers these positions (digest 2 not found)" in out


def test_a_window_inside_a_corrupted_digest_is_invalid(three_digests, capsys):
    data_dir, pem, second = three_digests
    with sqlite3.connect(data_dir / "ledger.db") as db:
        db.execute("UPDATE digests SET body = x'7b7d' WHERE sequence = 2")
    code, out = verify(capsys, data_dir, pem, *inside(second))
    assert code == 1, out
    assert "Digest file 2 INVALID: invalid format" in out


def test_a_window_next_to_a_deleted_digest_is_invalid(three_digests, capsys):
    """Digest 3 alone checks out, but the gap before it hides events of the window's edge."""
    data_dir, pem, second = three_digests
    with sqlite3.connect(data_dir / "ledger.db") as db:
        db.execute("DELETE FROM digests WHERE sequence = 2")
    code, out = verify(capsys, data_dir, pem, "--from", second.end_time.isoformat())
    assert code == 1, out
    assert "Digest file 2 INVALID: not found (deleted)" in out


def test_a_window_no_digest_and_no_event_reaches_is_unproven(three_digests, capsys):
    data_dir, pem, _ = three_digests
    code, out = verify(capsys, data_dir, pem, "--to", "2020-01-01T00:00:00Z")
    assert code == 3, out
    assert "UNPROVEN: no digest and no event lies in the requested window" in out


def test_a_window_inside_an_intact_digest_is_valid(three_digests, capsys):
    data_dir, pem, second = three_digests
    code, out = verify(capsys, data_dir, pem, *inside(second))
    assert code == 0, out
    assert "1/1 digest files valid" in out and "Digest file 2 " in out
