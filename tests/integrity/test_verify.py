"""`verify` on an untouched ledger, and on one whose SQLite file was edited underneath it:
each edit is named for what it was, at the log position where it was made."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

import pytest

from ledger.application import SecretsLedger
from ledger.integrity.digest import Digest
from ledger.integrity.digest_writer import UnsignableRange
from ledger.integrity.proof import canonical_bytes, chain_hash
from ledger.integrity.report import (
    CHAIN_BROKEN, DELETED, HASH_ALTERED, INSERTED, MODIFIED, REORDERED, ROOT_MISMATCH, UNCOVERED,
)
from ledger.integrity.signing import load_public_key
from tests.integrity.conftest import random_history
from tools.cli import main


@dataclass
class Signed:
    ledger: SecretsLedger
    public_pem: str
    ends: list[int]  # end position of digests 1, 2, 3

    def verify(self, **kwargs):
        return self.ledger.integrity.verify(load_public_key(self.public_pem), **kwargs)


@pytest.fixture
def signed(make_ledger, caller, clock) -> Signed:
    """Three digests over a random history, then a few calls no digest covers yet."""
    ledger, rng = make_ledger(), random.Random(5)
    ends = []
    for _ in range(3):
        random_history(ledger, caller, clock, rng, calls=12)
        ends.append(ledger.write_digest().end_position)
    random_history(ledger, caller, clock, rng, calls=4)
    return Signed(ledger, ledger.integrity.public_key_pem(), ends)


def kinds(report) -> list[tuple[str, int | None]]:
    return [(f.kind, f.position) for f in report.findings]


def event_row(db, position: int) -> tuple:
    return db().execute("SELECT originator_id, originator_version, topic, state FROM "
                        "stored_events WHERE rowid = ?", (position,)).fetchone()


def secret_event_with_successor(db, below: int) -> int:
    """A position below `below` whose originator has a later event: a real chain link."""
    return db().execute(
        "SELECT e.rowid FROM stored_events e JOIN stored_events n ON n.originator_id = "
        "e.originator_id AND n.originator_version = e.originator_version + 1 "
        "WHERE e.rowid < ? AND e.originator_version > 1 ORDER BY e.rowid LIMIT 1",
        (below,)).fetchone()[0]


# ---- untouched ---------------------------------------------------------------------------

def test_an_untouched_ledger_after_a_long_random_history_verifies_clean(any_ledger, clock,
                                                                        caller):
    ledger, rng = any_ledger, random.Random(99)
    for _ in range(6):
        random_history(ledger, caller, clock, rng, calls=40)
        ledger.write_digest()
    report = ledger.integrity.verify()
    assert report.ok, "\n".join(report.lines())
    assert len(report.digests) == 6 and all(r.valid for r in report.ranges)
    assert report.ranges[-1].digest == 6 and report.first_bad_position is None


def test_valid_report_reads_like_validate_logs(signed):
    lines = signed.verify().lines()
    assert lines[0].startswith("Public key fingerprint ") and lines[0].endswith("(given)")
    assert lines[2].startswith(f"Digest file 1 (positions 1-{signed.ends[0]}, 2026-03-17T03:12:00Z")
    assert lines[2].endswith(") valid")
    assert f"Events 1-{signed.ends[0]} (digest 1) valid" in lines
    assert f"Events {signed.ends[2] + 1}-{signed.ledger.recorder.max_notification_id()} " \
           "not yet covered by a digest: valid" in lines
    assert "3/3 digest files valid" in lines and "4/4 event ranges valid" in lines


def test_events_after_the_last_digest_are_checked_against_their_chain(signed, db):
    position = signed.ends[2] + 2
    state = event_row(db, position)[3]
    db().execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                 (state[:-1] + bytes([state[-1] ^ 1]), position))
    report = signed.verify()
    assert kinds(report) == [(MODIFIED, position)]
    assert report.ranges[-1].digest is None and not report.ranges[-1].valid


# ---- edits to events ---------------------------------------------------------------------

def test_one_changed_byte_is_reported_as_modified_at_its_position_only(signed, db):
    position = secret_event_with_successor(db, signed.ends[0])
    state = event_row(db, position)[3]
    db().execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                 (state[:10] + bytes([state[10] ^ 0x40]) + state[11:], position))
    report = signed.verify()
    assert kinds(report) == [(MODIFIED, position)]
    bad = report.ranges[0]
    assert (bad.digest, bad.first_bad_position) == (1, position)
    assert bad.lines()[0] == (f"Events 1-{signed.ends[0]} (digest 1) INVALID: modified; "
                              f"first bad position {position}")
    assert all(r.valid for r in report.ranges[1:]) and all(d.valid for d in report.digests)


def test_a_deleted_event_is_reported_as_deleted_at_its_position(signed, db):
    position = signed.ends[0] + 3
    oid, version, _, _ = event_row(db, position)
    db().execute("DELETE FROM stored_events WHERE rowid = ?", (position,))
    report = signed.verify()
    assert kinds(report) == [(DELETED, position)]
    assert report.findings[0].detail == f"event {oid}:{version} not found"
    assert report.ranges[1].digest == 2 and report.first_bad_position == position


def test_a_deleted_event_and_its_hash_row_still_leave_a_hole_at_its_position(signed, db):
    position = signed.ends[1] - 1
    oid, version, _, _ = event_row(db, position)
    connection = db()
    connection.execute("DELETE FROM stored_events WHERE rowid = ?", (position,))
    connection.execute("DELETE FROM event_hashes WHERE originator_id = ? AND "
                       "originator_version = ?", (oid, version))
    report = signed.verify()
    assert (DELETED, position) in kinds(report)
    assert report.first_bad_position == position


def test_swapped_states_of_two_events_are_reported_as_reordered_at_both(signed, db):
    first, second = 4, signed.ends[0] - 2
    a, b = event_row(db, first)[3], event_row(db, second)[3]
    connection = db()
    connection.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (b, first))
    connection.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (a, second))
    report = signed.verify()
    assert kinds(report) == [(REORDERED, first), (REORDERED, second)]
    assert f"holds the state of position {second} (states swapped)" in report.findings[0].detail
    assert report.ranges[0].first_bad_position == first


def test_whole_rows_swapped_between_positions_are_reported_as_reordered(signed, db):
    first, second = signed.ends[0] + 1, signed.ends[0] + 2
    row_a, row_b = event_row(db, first), event_row(db, second)
    connection = db()
    connection.execute("BEGIN")
    connection.execute("DELETE FROM stored_events WHERE rowid IN (?, ?)", (first, second))
    connection.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, "
                       "topic, state) VALUES (?, ?, ?, ?, ?)", (first, *row_b))
    connection.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, "
                       "topic, state) VALUES (?, ?, ?, ?, ?)", (second, *row_a))
    connection.execute("COMMIT")
    report = signed.verify()
    assert kinds(report) == [(REORDERED, first), (REORDERED, second)]
    assert report.findings[0].detail.endswith(f"was recorded at position {second}")


def forge_event(signed: Signed, db) -> int:
    """Position 3's event copied in as its originator's next version, written straight into
    the file (so with no recorded hash); returns the forged event's position."""
    oid, _, topic, state = event_row(db, 3)
    connection = db()
    last = connection.execute("SELECT MAX(originator_version) FROM stored_events WHERE "
                              "originator_id = ?", (oid,)).fetchone()[0]
    connection.execute("INSERT INTO stored_events (originator_id, originator_version, topic, "
                       "state) VALUES (?, ?, ?, ?)", (oid, last + 1, topic, state))
    return signed.ledger.recorder.max_notification_id()


def test_a_forged_event_is_reported_as_inserted(signed, db):
    position = forge_event(signed, db)
    report = signed.verify()
    assert kinds(report) == [(INSERTED, position)]
    assert report.ranges[-1].digest is None


def test_a_forged_event_in_a_signed_range_breaks_its_digest(signed, db):
    """An event slipped into a deleted event's place, hash row and all, chain-consistent."""
    position = signed.ends[1] - 2
    oid, version, topic, state = event_row(db, position)
    connection = db()
    previous = connection.execute("SELECT hash FROM event_hashes WHERE originator_id = ? AND "
                                  "originator_version = ?", (oid, version - 1)).fetchone()
    forged = state + b"\x00"
    digest = chain_hash(previous[0] if previous else bytes(32),
                        canonical_bytes(oid, version, topic, forged))
    connection.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (forged, position))
    connection.execute("UPDATE event_hashes SET hash = ? WHERE originator_id = ? AND "
                       "originator_version = ?", (digest, oid, version))
    report = signed.verify()
    bad = [r for r in report.ranges if not r.valid]
    assert [r.digest for r in bad] == [2]
    assert bad[0].findings[0].kind in (ROOT_MISMATCH, CHAIN_BROKEN, MODIFIED)
    assert report.first_bad_position is not None and report.first_bad_position <= position


def test_an_altered_hash_row_is_told_apart_from_an_altered_event(signed, db):
    position = secret_event_with_successor(db, signed.ends[0])
    oid, version, _, _ = event_row(db, position)
    db().execute("UPDATE event_hashes SET hash = ? WHERE originator_id = ? AND "
                 "originator_version = ?", (bytes(32), oid, version))
    report = signed.verify()
    assert kinds(report) == [(HASH_ALTERED, position)]


def test_a_deleted_hash_row_breaks_the_chain_of_the_next_event(signed, db):
    position = secret_event_with_successor(db, signed.ends[2])
    oid, version, _, _ = event_row(db, position)
    db().execute("DELETE FROM event_hashes WHERE originator_id = ? AND originator_version = ?",
                 (oid, version))
    report = signed.verify()
    assert (INSERTED, position) in kinds(report)
    assert report.first_bad_position == position


# ---- edits to digests and keys -----------------------------------------------------------

def test_a_dropped_digest_is_not_found_and_its_events_are_not_vouched_for(signed, db):
    db().execute("DELETE FROM digests WHERE sequence = 2")
    report = signed.verify()
    assert [(d.sequence, d.problem) for d in report.digests] == [
        (1, None), (2, "not found (deleted)"), (3, None)]
    gap = [r for r in report.ranges if r.digest == 2][0]
    assert (gap.start, gap.end) == (signed.ends[0] + 1, signed.ends[1])
    assert kinds(report) == [(UNCOVERED, signed.ends[0] + 1)]
    assert "Digest file 2 INVALID: not found (deleted)" in report.lines()
    assert "2/3 digest files valid, 1/3 digest files INVALID" in report.lines()


def test_an_edited_digest_fails_its_signature_and_breaks_the_next_link(signed, db):
    connection = db()
    body = connection.execute("SELECT body FROM digests WHERE sequence = 1").fetchone()[0]
    connection.execute("UPDATE digests SET body = ? WHERE sequence = 1",
                       (body.replace(b'"event_count":', b'"event_count":1'),))
    report = signed.verify()
    problems = [d.problem for d in report.digests]
    assert problems[0] == "signature verification failed"
    assert problems[1] == "previous digest hash doesn't match digest 1 (digest chain broken)"
    assert problems[2] is None


def test_a_digest_moved_to_another_sequence_is_reported_as_moved(signed, db):
    connection = db()
    connection.execute("DELETE FROM digests WHERE sequence = 3")
    connection.execute("UPDATE digests SET sequence = 3 WHERE sequence = 2")
    report = signed.verify()
    assert report.digests[2].problem == ("has been moved from its original location (its body "
                                         "names digest 2)")


def test_a_replaced_signing_key_is_caught_with_the_published_public_key(signed, db, make_ledger):
    from ledger.integrity.signing import SIGNING_KEY_MATERIAL, DigestSigner
    root_key = signed.ledger.kms._root_key
    db().execute("DELETE FROM key_materials WHERE name = ?", (SIGNING_KEY_MATERIAL,))
    forger = DigestSigner(signed.ledger.recorder, root_key)  # a fresh key, wrapped properly
    assert forger.fingerprint != load_public_key(signed.public_pem) and forger.public_key_pem() \
        != signed.public_pem
    reopened = make_ledger()
    reopened.write_digest()
    with_published = reopened.integrity.verify(load_public_key(signed.public_pem))
    assert [d.problem for d in with_published.digests][:3] == [None, None, None]
    assert with_published.digests[3].problem == (
        f"public key not found for fingerprint {forger.fingerprint} "
        "(the signing key changed after digest 3)")
    with_own = reopened.integrity.verify()
    assert all(d.problem.startswith("public key not found for fingerprint")
               for d in with_own.digests[:3])
    assert with_own.digests[3].problem is None and not with_own.ok


def test_a_different_public_key_fails_every_digest(signed):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    other = Ed25519PrivateKey.generate().public_key()
    report = signed.ledger.integrity.verify(other)
    assert all(d.problem.startswith("public key not found for fingerprint ")
               for d in report.digests)
    assert not report.ok
    assert all(not r.valid for r in report.ranges if r.digest is not None)


# ---- time windows ------------------------------------------------------------------------

def test_from_and_to_select_the_digests_whose_interval_overlaps(signed):
    digests = signed.ledger.integrity.store.digests()
    second = Digest.of(digests[1])
    report = signed.verify(start=second.end_time, end=second.end_time)
    assert [d.sequence for d in report.digests] == [2, 3]
    assert all(r.digest in (2, 3) for r in report.ranges)
    everything = signed.verify(start=second.end_time)
    assert [r.digest for r in everything.ranges][-1] is None


# ---- no digest over an altered range -----------------------------------------------------

def test_no_digest_is_signed_over_a_modified_event_after_the_last_one(signed, db, caplog,
                                                                        clock):
    position = signed.ends[2] + 2
    state = event_row(db, position)[3]
    db().execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                 (state[:-1] + bytes([state[-1] ^ 1]), position))
    with pytest.raises(UnsignableRange, match=f"position {position} does not match"):
        signed.ledger.write_digest()
    signed.ledger.integrity.writer.interval = timedelta(minutes=5)
    clock.advance(minutes=6)
    assert signed.ledger.integrity.write_digest_if_due() is None  # the schedule logs, no raise
    assert signed.ledger.integrity.write_digest_if_due() is None  # not tried again at once
    assert caplog.text.count(f"position {position} does not match") == 1
    clock.advance(minutes=6)
    assert signed.ledger.integrity.write_digest_if_due() is None  # tried again, refused again
    assert caplog.text.count(f"position {position} does not match") == 2
    assert len(signed.ledger.integrity.store.digests()) == 3
    report = signed.verify()
    assert kinds(report) == [(MODIFIED, position)]
    assert report.ranges[-1].digest is None


def test_no_digest_is_signed_over_a_forged_event(signed, db):
    position = forge_event(signed, db)
    with pytest.raises(UnsignableRange, match=f"position {position} does not match"):
        signed.ledger.write_digest()
    assert len(signed.ledger.integrity.store.digests()) == 3


def test_the_digest_command_refuses_an_altered_range_with_status_1(signed, db, data_dir,
                                                                    capsys):
    position = signed.ends[2] + 1
    state = event_row(db, position)[3]
    db().execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                 (state[:-1] + bytes([state[-1] ^ 1]), position))
    signed.ledger.close()
    assert main(["digest", "--data-dir", str(data_dir)]) == 1
    assert f"position {position} does not match its hash chain" in capsys.readouterr().err
