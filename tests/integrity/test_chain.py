"""Every stored event commits to the previous event of the same originator, in the same
transaction as the event itself."""
from __future__ import annotations

import threading

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.integrity.proof import GENESIS, canonical_bytes, chain_hash
from ledger.integrity.store import store_for
from ledger.secret import Limits
from tests.integrity.conftest import open_ledger


def recorded(ledger) -> dict[tuple[str, int], tuple[int, bytes]]:
    store = store_for(ledger.recorder)
    return {(r.originator_id, r.version): (r.recorded_position, r.recorded_hash)
            for r in store.chain_rows(0, None)}


def test_canonical_bytes_are_length_prefixed_fields_with_a_fixed_width_version():
    assert canonical_bytes("ab", 3, "m:T", b"\x01\x02") == (
        b"\x00\x00\x00\x02ab" + (3).to_bytes(8, "big") + b"\x00\x00\x00\x03m:T"
        + b"\x00\x00\x00\x02\x01\x02")
    # a byte moved across a field boundary changes the encoding
    assert canonical_bytes("a", 1, "bc", b"") != canonical_bytes("ab", 1, "c", b"")


def test_each_event_hash_chains_from_the_previous_event_of_its_originator(any_ledger, caller):
    any_ledger.call("CreateSecret", {"Name": "db", "SecretString": "one"}, caller)
    any_ledger.call("PutSecretValue", {"SecretId": "db", "SecretString": "two"}, caller)
    any_ledger.call("UpdateSecret", {"SecretId": "db", "Description": "x"}, caller)
    hashes = recorded(any_ledger)
    rows = list(store_for(any_ledger.recorder).chain_rows(0, None))
    for row in rows:
        previous = GENESIS if row.version == 1 else hashes[(row.originator_id, row.version - 1)][1]
        expected = chain_hash(previous, canonical_bytes(row.originator_id, row.version, row.topic,
                                                        row.state))
        assert hashes[(row.originator_id, row.version)] == (row.position, expected)
    assert max(r.version for r in rows) >= 4  # the secret's chain has real links


def test_a_save_that_fails_leaves_no_hash_rows(any_ledger, caller):
    any_ledger.call("CreateSecret", {"Name": "db", "SecretString": "one"}, caller)
    before = recorded(any_ledger)
    secret_id = any_ledger.name_index("db").secret_id
    stale = any_ledger.repository.get(secret_id)
    fresh = any_ledger.repository.get(secret_id)
    fresh.change_description("first", any_ledger.now(), {})
    any_ledger.save(fresh)
    stale.change_description("second", any_ledger.now(), {})
    with pytest.raises(IntegrityError):
        any_ledger.save(stale)
    after = recorded(any_ledger)
    assert len(after) == len(before) + 1
    assert all(position is not None for position, _ in after.values())


def test_concurrent_writers_on_different_secrets_all_chain_correctly(tmp_path, clock, caller):
    ledger = open_ledger(tmp_path / "d", clock, limits=Limits(max_versions=100))
    names = [f"s{i}" for i in range(4)]
    for name in names:
        ledger.call("CreateSecret", {"Name": name, "SecretString": "0"}, caller)

    def writer(name: str) -> None:
        for i in range(15):
            ledger.call("PutSecretValue", {"SecretId": name, "SecretString": str(i)}, caller)

    threads = [threading.Thread(target=writer, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.write_digest()
    report = ledger.integrity.verify()
    assert report.ok, "\n".join(report.lines())
    assert len(recorded(ledger)) == ledger.recorder.max_notification_id()


def test_a_log_from_before_the_chain_is_hashed_once_on_opening(tmp_path, clock, caller,
                                                               monkeypatch):
    import ledger.storage
    with monkeypatch.context() as patch:
        patch.setattr(ledger.storage, "record_sqlite", lambda *args: None)
        old = open_ledger(tmp_path / "d", clock)
        old.call("CreateSecret", {"Name": "db", "SecretString": "one"}, caller)
        old.call("PutSecretValue", {"SecretId": "db", "SecretString": "two"}, caller)
        assert recorded(old) == {key: (None, None) for key in recorded(old)}
    reopened = open_ledger(tmp_path / "d", clock)
    reopened.call("PutSecretValue", {"SecretId": "db", "SecretString": "three"}, caller)
    reopened.write_digest()
    assert reopened.integrity.verify().ok
    assert all(position is not None for position, _ in recorded(reopened).values())


def test_deleting_every_hash_row_of_a_digested_log_does_not_rehash_it(tmp_path, clock, caller):
    import sqlite3
    ledger = open_ledger(tmp_path / "d", clock)
    ledger.call("CreateSecret", {"Name": "db", "SecretString": "one"}, caller)
    ledger.write_digest()
    with sqlite3.connect(tmp_path / "d" / "ledger.db") as db:
        db.execute("DELETE FROM event_hashes")
    reopened = open_ledger(tmp_path / "d", clock)
    assert not reopened.integrity.verify().ok
