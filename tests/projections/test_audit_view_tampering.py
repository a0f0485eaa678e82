"""Editing the audit view in the database file never makes `audit` answer falsely: every
record shown is checked against the log event it comes from (`projections.audit_check`)."""
from __future__ import annotations

import io
import json
import sqlite3
import sys
import threading
from pathlib import Path

import pytest
from eventsourcing.utils import get_topic

from ledger.calls import ApiCallRecorded
from projections import export, lookup
from tests.projections.conftest import BOB, make_ledger
from tools.cli import main

LEAKED = "Leaked-value-0001"


@pytest.fixture
def data_dir(tmp_path, clock, caller) -> Path:
    ledger = make_ledger(tmp_path / "data", clock)
    ledger.call("CreateSecret", {"Name": "prod/db", "SecretString": LEAKED}, caller)
    clock.advance(minutes=5)
    ledger.call("GetSecretValue", {"SecretId": "prod/db"}, BOB)
    clock.advance(minutes=5)
    ledger.call("PutSecretValue", {"SecretId": "prod/db", "SecretString": "Bob-value-0002"},
                BOB)
    clock.advance(minutes=5)
    ledger.call("CreateSecret", {"Name": "other/x", "SecretString": "Other-value-3"}, caller)
    ledger.read_models.refresh_all()  # the views hold every record before anyone edits them
    ledger.close()
    return tmp_path / "data"


def run(capsys, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    try:
        status = main(list(argv))
    finally:
        sys.stdin = sys.__stdin__
    out, err = capsys.readouterr()
    return status, out, err


def position_of(db: sqlite3.Connection, operation: str, user: str) -> int:
    """The log position of the first record of `user`'s `operation` (as the view says)."""
    rows = db.execute("SELECT position FROM audit_lookup WHERE attribute = 'EventName' AND "
                      "value = ? AND position IN (SELECT position FROM audit_lookup WHERE "
                      "attribute = 'Username' AND value = ?) ORDER BY position",
                      (operation, user)).fetchall()
    return rows[0][0]


def edit(data_dir: Path, change) -> None:
    db = sqlite3.connect(data_dir / "ledger.db")
    with db:
        change(db)
    db.close()


def assert_refused(status: int, out: str, err: str) -> None:
    assert status == 1 and out == ""
    assert "cannot be trusted" in err and "rebuild" in err
    assert len(err.strip().splitlines()) == 1


def test_moving_a_value_hash_to_frame_another_caller_is_refused(data_dir, capsys):
    """"Who stored this leaked value?" must not name bob because someone edited the view."""
    def frame_bob(db: sqlite3.Connection) -> None:
        alice_create = position_of(db, "CreateSecret", "alice")
        bob_put = position_of(db, "PutSecretValue", "bob")
        (fingerprint,) = db.execute("SELECT value_hash FROM audit_events WHERE position = ?",
                                    (alice_create,)).fetchone()
        db.execute("UPDATE audit_events SET value_hash = NULL WHERE position = ?",
                   (alice_create,))
        db.execute("UPDATE audit_events SET value_hash = ? WHERE position = ?",
                   (fingerprint, bob_put))
        db.execute("UPDATE audit_lookup SET position = ?, event_time = (SELECT event_time "
                   "FROM audit_events WHERE position = ?) WHERE attribute = 'SecretValueHash' "
                   "AND value = ?", (bob_put, bob_put, fingerprint))

    status, out, _ = run(capsys, "audit", "hash", "--value-stdin", "--data-dir", str(data_dir),
                         stdin=LEAKED)
    assert status == 0 and [r["Username"] for r in json.loads(out)["records"]] == ["alice"]
    edit(data_dir, frame_bob)
    assert_refused(*run(capsys, "audit", "hash", "--value-stdin", "--data-dir", str(data_dir),
                        stdin=LEAKED))


def _alice_as_bob(db: sqlite3.Connection) -> None:
    db.execute("UPDATE audit_lookup SET value = 'bob' WHERE attribute = 'Username' AND "
               "position = ?", (position_of(db, "CreateSecret", "alice"),))


def _read_moved_into_the_night(db: sqlite3.Connection) -> None:
    position = position_of(db, "GetSecretValue", "bob")
    db.execute("UPDATE audit_lookup SET event_time = 1 WHERE position = ?", (position,))
    db.execute("UPDATE audit_events SET event_time = 1 WHERE position = ?", (position,))


def _other_secret_as_prod_db(db: sqlite3.Connection) -> None:
    db.execute("UPDATE audit_lookup SET value = 'prod/db' WHERE attribute = 'ResourceName' "
               "AND value = 'other/x'")


def _record_pointed_at_another_event(db: sqlite3.Connection) -> None:
    """The row of bob's read points at a log event that is not an API call record."""
    position = position_of(db, "GetSecretValue", "bob")
    db.execute("UPDATE audit_lookup SET position = position - 1 WHERE position = ?",
               (position,))
    db.execute("UPDATE audit_events SET position = position - 1 WHERE position = ?",
               (position,))


@pytest.mark.parametrize(("change", "argv"), [
    (_alice_as_bob, ["--username", "bob"]),
    (_read_moved_into_the_night, ["--end-time", "1970-01-02T00:00:00Z"]),
    (_other_secret_as_prod_db, ["--resource-name", "prod/db"]),
    (_record_pointed_at_another_event, ["--username", "bob"]),
], ids=["username", "event-time", "resource-name", "position"])
def test_a_forged_lookup_row_is_refused(data_dir, capsys, change, argv):
    assert run(capsys, "audit", "lookup", "--data-dir", str(data_dir), *argv)[0] == 0
    edit(data_dir, change)
    assert_refused(*run(capsys, "audit", "lookup", "--data-dir", str(data_dir), *argv))


def test_an_api_call_record_rewritten_in_the_log_is_refused(data_dir, capsys, clock):
    """The log row itself rewritten (bob's read now claims another source address) without
    its hash-chain row: the record fails its chain check."""
    ledger = make_ledger(data_dir, clock)
    try:
        topic = get_topic(ApiCallRecorded)
        notes = ledger.recorder.select_notifications(start=None, limit=1000, topics=[topic])
        events = {n.id: ledger.mapper.to_domain_event(n) for n in notes}
        position, event = next((p, e) for p, e in events.items()
                               if e.context["operation"] == "GetSecretValue")
        forged = type(event)(**{**event.__dict__,
                                "context": {**event.context, "source_ip": "203.0.113.9"}})
        state = ledger.mapper.to_stored_event(forged).state
    finally:
        ledger.close()
    edit(data_dir, lambda db: db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                                         (state, position)))
    assert_refused(*run(capsys, "audit", "lookup", "--data-dir", str(data_dir),
                        "--username", "bob"))


@pytest.mark.parametrize("argv", [[], ["--start-time", "2000-01-01T00:00:00Z"]],
                         ids=["whole-trail", "from-a-start-time"])
@pytest.mark.parametrize("deleted", ["GetSecretValue", "CreateSecret"],
                         ids=["a-record-in-the-middle", "the-newest-record"])
def test_export_reports_a_record_deleted_from_the_view(data_dir, capsys, argv, deleted):
    def delete(db: sqlite3.Connection) -> None:
        rows = db.execute("SELECT position FROM audit_lookup WHERE attribute = 'EventName' "
                          "AND value = ? ORDER BY position DESC", (deleted,)).fetchall()
        db.execute("DELETE FROM audit_events WHERE position = ?", (rows[0][0],))
        db.execute("DELETE FROM audit_lookup WHERE position = ?", (rows[0][0],))

    status, out, _ = run(capsys, "audit", "export", "--data-dir", str(data_dir), *argv)
    assert status == 0 and len(json.loads(out)["Records"]) == 4
    edit(data_dir, delete)
    status, out, err = run(capsys, "audit", "export", "--data-dir", str(data_dir), *argv)
    assert status == 1 and "the audit view left it out" in err and "rebuild" in err


def test_a_row_deleted_from_the_lookup_table_is_missed_by_lookup_and_found_by_replay(
        data_dir, capsys):
    """What `audit lookup` cannot see cheaply (README: an omission is `replay`'s to find)."""
    edit(data_dir, lambda db: db.execute(
        "DELETE FROM audit_lookup WHERE attribute = 'Username' AND value = 'bob' AND "
        "position = ?", (position_of(db, "PutSecretValue", "bob"),)))
    status, out, _ = run(capsys, "audit", "lookup", "--data-dir", str(data_dir),
                         "--username", "bob")
    assert status == 0 and [e["EventName"] for e in json.loads(out)["Events"]] == [
        "GetSecretValue"]
    assert run(capsys, "replay", "--data-dir", str(data_dir))[0] == 1


def test_a_forged_row_does_not_slip_another_secrets_record_into_a_history(data_dir, capsys):
    assert run(capsys, "history", "prod/db", "--data-dir", str(data_dir))[0] == 0
    edit(data_dir, _other_secret_as_prod_db)
    assert_refused(*run(capsys, "history", "prod/db", "--data-dir", str(data_dir)))


def test_an_intact_view_passes_every_check_after_concurrent_writes(tmp_path, clock, caller):
    """No false alarm: records from saves that shared commits (group commit), value writes,
    reads, failures and version cleanups all check out in export and in lookups."""
    ledger = make_ledger(tmp_path / "data", clock, max_versions=3)
    names = [f"busy/{i}" for i in range(4)]
    for name in names:
        ledger.call("CreateSecret", {"Name": name, "SecretString": "v0"}, caller)

    def writer(worker: int) -> None:
        for n in range(25):
            name = names[(worker + n) % len(names)]
            try:
                if n % 3 == 2:
                    ledger.call("GetSecretValue", {"SecretId": name}, BOB)
                else:
                    ledger.call("PutSecretValue", {"SecretId": name,
                                                   "SecretString": f"w{worker}-{n}"}, caller)
            except Exception:  # noqa: BLE001 (a refused call still leaves its record)
                pass

    for _ in range(2):  # the second round finds day-old versions to clean up
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        clock.advance(hours=25)
    try:
        records = ledger.read_models.read_audit(lambda c: list(export.records(c)))
        assert len(records) >= 4 + 2 * 4 * 25
        assert any('"EndSecretVersionDelete"' in r for r in records)
        for name in names:
            query = lookup.parse_query([{"AttributeKey": "ResourceName", "AttributeValue": name}],
                                       None, None)
            token = None
            while True:
                page = ledger.read_models.read_audit(
                    lambda c: lookup.lookup(c, query, 50, token))
                token = page.get("NextToken")
                if token is None:
                    break
    finally:
        ledger.close()
