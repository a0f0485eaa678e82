"""Signed digests: on demand and on schedule, chained to each other, written even when
nothing happened."""
from __future__ import annotations

import json
from datetime import timedelta

from ledger.integrity.digest import Digest
from ledger.integrity.merkle import merkle_root
from ledger.integrity.proof import EMPTY_ROOT, leaf_hash, signature_message
from ledger.integrity.signing import load_public_key
from tests.integrity.conftest import open_ledger


def create(ledger, caller, name: str) -> None:
    ledger.call("CreateSecret", {"Name": name, "SecretString": "s3cr3t-value"}, caller)


def test_a_digest_covers_every_position_since_the_last_with_their_merkle_root(any_ledger, caller):
    create(any_ledger, caller, "a")
    first = any_ledger.write_digest()
    create(any_ledger, caller, "b")
    second = any_ledger.write_digest()
    store = any_ledger.integrity.store
    end = any_ledger.recorder.max_notification_id()
    assert (first.start_position, second.start_position, second.end_position) == (
        1, first.end_position + 1, end)
    leaves = [leaf_hash(p, h) for p, _, _, h in store.hashed_events(first.end_position, end)]
    assert second.fields["merkle_root"] == merkle_root(leaves).hex()
    assert second.fields["event_count"] == len(leaves) == end - first.end_position


def test_each_digest_names_the_previous_digests_hash_and_signature(any_ledger, caller):
    create(any_ledger, caller, "a")
    first = any_ledger.write_digest()
    second = any_ledger.write_digest()
    assert first.fields["previous_digest_hash"] is None
    assert first.fields["previous_digest_signature"] is None
    assert second.fields["previous_digest_hash"] == first.hash
    assert second.fields["previous_digest_signature"] == first.signature.hex()
    assert second.fields["digest_start_time"] == first.fields["digest_end_time"]


def test_the_signature_covers_the_body_and_the_previous_signature(any_ledger, caller):
    create(any_ledger, caller, "a")
    any_ledger.write_digest()
    second = any_ledger.write_digest()
    key = load_public_key(any_ledger.integrity.public_key_pem())
    key.verify(second.signature, signature_message(second.body))
    message = signature_message(second.body).decode().split("\n")
    assert message[2] == "secretsmanager:us-east-1:123456789012/2"
    assert message[4] == second.fields["previous_digest_signature"]
    first_message = signature_message(Digest.of(any_ledger.integrity.store.digests()[0]).body)
    assert first_message.decode().endswith("\nnull")


def test_an_interval_with_no_events_still_gets_a_digest(any_ledger, caller, clock):
    create(any_ledger, caller, "a")
    first = any_ledger.write_digest()
    clock.advance(hours=5)
    empty = any_ledger.write_digest()
    assert empty.fields["event_count"] == 0 and empty.fields["chain_tip_count"] == 0
    assert (empty.start_position, empty.end_position) == (first.end_position + 1,
                                                          first.end_position)
    assert empty.fields["merkle_root"] == EMPTY_ROOT.hex()
    assert empty.fields["oldest_event_time"] is None
    report = any_ledger.integrity.verify()
    assert report.ok
    assert ("No events were recorded between 2026-03-17T03:12:00Z and 2026-03-17T08:12:00Z "
            "(digest 2)") in report.lines()


def test_digests_are_written_on_schedule_by_the_calls_themselves(tmp_path, clock, caller):
    ledger = open_ledger(tmp_path / "d", clock, digest_interval=timedelta(hours=1))
    create(ledger, caller, "a")
    clock.advance(minutes=40)
    ledger.call("DescribeSecret", {"SecretId": "a"}, caller)
    assert ledger.integrity.store.digests() == []
    clock.advance(minutes=30)
    ledger.call("DescribeSecret", {"SecretId": "a"}, caller)
    digests = ledger.integrity.store.digests()
    assert len(digests) == 1
    assert Digest.of(digests[0]).fields["digest_end_time"] == "2026-03-17T04:22:00Z"
    clock.advance(hours=6)  # idle: the next digest spans the whole quiet time, with no gap
    ledger.call("DescribeSecret", {"SecretId": "a"}, caller)
    second = Digest.of(ledger.integrity.store.digests()[1])
    assert second.fields["digest_start_time"] == "2026-03-17T04:22:00Z"
    assert second.fields["digest_end_time"] == "2026-03-17T10:22:00Z"


def test_a_digest_keeps_the_tip_of_every_chain_it_touched(tmp_path, clock, caller):
    ledger = open_ledger(tmp_path / "d", clock)
    create(ledger, caller, "a")
    ledger.call("PutSecretValue", {"SecretId": "a", "SecretString": "two"}, caller)
    digest = ledger.write_digest()
    tips = json.loads(ledger.integrity.store.chain_tips(digest.sequence))
    secret_id = ledger.name_index("a").secret_id.hex
    rows = [r for r in ledger.integrity.store.chain_rows(0, None) if r.originator_id == secret_id]
    assert tips[secret_id] == [rows[-1].version, rows[-1].recorded_hash.hex()]
    assert digest.fields["chain_tip_count"] == len(tips)


def test_the_signing_key_is_made_once_and_kept_wrapped_in_the_key_store(tmp_path, clock, caller):
    ledger = open_ledger(tmp_path / "d", clock)
    pem = ledger.integrity.public_key_pem()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    again = open_ledger(tmp_path / "d", clock)
    assert again.integrity.public_key_pem() == pem
    wrapped = ledger.recorder.material("digest-signing-key")
    assert wrapped is not None and len(wrapped) == 12 + 32 + 16  # nonce, sealed key, tag
    raw_files = b"".join(p.read_bytes() for p in (tmp_path / "d").iterdir() if p.is_file())
    private = ledger.integrity.signer._private_key().private_bytes_raw()
    assert private not in raw_files


def test_the_digest_body_holds_no_secret_value(tmp_path, clock, caller):
    ledger = open_ledger(tmp_path / "d", clock)
    create(ledger, caller, "a")
    digest = ledger.write_digest()
    assert b"s3cr3t-value" not in digest.body
    assert b"s3cr3t-value" not in ledger.integrity.store.chain_tips(digest.sequence)


def test_a_scheduled_digest_another_process_signed_first_is_not_signed_again(tmp_path, clock,
                                                                             caller):
    """Every server process runs the schedule; when two find the interval due at once, the
    one that loses the race to append writes nothing, rather than a second digest at once."""
    hourly = timedelta(hours=1)
    winner = open_ledger(tmp_path / "d", clock, digest_interval=hourly)
    create(winner, caller, "a")
    loser = open_ledger(tmp_path / "d", clock, digest_interval=hourly)
    clock.advance(minutes=61)
    store = loser.integrity.store
    insert = store.insert_digest

    def the_other_process_appends_first(digest, tips):
        del store.insert_digest
        winner.write_digest()
        insert(digest, tips)

    store.insert_digest = the_other_process_appends_first
    assert loser.integrity.write_digest_if_due() is None
    assert len(store.digests()) == 1
    assert loser.integrity.write_digest_if_due() is None  # the winner's covers the interval
    clock.advance(minutes=61)
    assert loser.integrity.write_digest_if_due() is not None
    assert len(store.digests()) == 2
