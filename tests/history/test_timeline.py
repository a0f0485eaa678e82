"""The timeline model: what a known history turns into, entry by entry."""
from __future__ import annotations

from collections import Counter

import pytest

from ledger.errors import ResourceNotFoundException
from projections import history as H
from projections.history_source import load_timeline
from tests.history.conftest import ALICE, BOB, at


def kinds(timeline: H.Timeline) -> Counter:
    return Counter(entry.kind for entry in timeline.entries)


def test_every_fact_of_the_known_history_is_one_entry_in_log_order(known):
    t = load_timeline(known.ledger, "prod/db")
    assert kinds(t) == {H.CREATED: 1, H.VERSION: 4, H.LABEL: 10, H.READ: 2, H.DENIED: 1,
                        H.FAILED: 1, H.KEY: 1, H.REENCRYPTED: 2, H.DESCRIPTION: 1, H.TAGS: 1,
                        H.REMOVED: 1, H.DELETION: 1, H.RESTORED: 1}
    positions = [entry.position for entry in t.entries]
    assert positions == sorted(positions)
    assert [entry.at for entry in t.entries] == sorted(entry.at for entry in t.entries)


def test_versions_are_lanes_in_creation_order_with_creator_and_key(known):
    t = load_timeline(known.ledger, "prod/db")
    assert [lane.version_id for lane in t.lanes] == known.versions
    v1, v2, v3, v4 = t.lanes
    assert (v1.created_at, v1.created_by) == (at(17, 3, 12), ALICE.arn)
    assert (v2.created_at, v2.created_by) == (at(17, 3, 30), BOB.arn)
    assert v1.key_arn == v2.key_arn == v3.key_arn == known.key_arn  # re-encrypted / sealed so
    assert len(v1.keys) == len(v2.keys) == 2 and len(v3.keys) == 1


def test_reads_resolve_the_version_the_label_pointed_at_then(known):
    t = load_timeline(known.ledger, "prod/db")
    first, second = t.of_kind(H.READ)
    assert (first.version_id, first.who, first.request_id) == (known.versions[0], BOB.arn,
                                                               "req-read-0001")
    # AWSPREVIOUS at 03:55 was v2 (AWSCURRENT had moved to v3 at 03:50).
    assert second.version_id == known.versions[1] and "AWSPREVIOUS" in second.detail
    assert [lane.reads for lane in t.lanes] == [1, 1, 0, 0]


def test_denied_and_failed_calls_are_told_apart(known):
    t = load_timeline(known.ledger, "prod/db")
    (denied,) = t.of_kind(H.DENIED)
    (failed,) = t.of_kind(H.FAILED)
    assert denied.error_code == "AccessDeniedException" and "mallory" in denied.who
    assert denied.request_id == known.denied_request and denied.at == at(17, 3, 56)
    assert failed.error_code == "ResourceNotFoundException"
    assert failed.request_id == known.failed_request


def test_label_spans_follow_each_move(known):
    t = load_timeline(known.ledger, "prod/db")
    v1, v2, v3, v4 = known.versions
    held = {label: [s.version_id for s in t.spans if s.label == label]
            for label in t.label_names()}
    assert held == {"AWSCURRENT": [v1, v2, v3, v4], "AWSPREVIOUS": [v1, v2, v3],
                    "AWSPENDING": [v3], "BLUE": [v1]}
    assert t.label_names() == ["AWSCURRENT", "AWSPREVIOUS", "AWSPENDING", "BLUE"]
    pending = next(s for s in t.spans if s.label == "AWSPENDING")
    assert (pending.start_at, pending.end_at) == (at(17, 3, 45), at(17, 3, 51))
    open_spans = {s.label: s.version_id for s in t.spans if s.end_step is None}
    assert open_spans == t.labels == {"AWSCURRENT": v4, "AWSPREVIOUS": v3, "BLUE": v1}


def test_one_request_is_one_step(known):
    t = load_timeline(known.ledger, "prod/db")
    put_v2 = [e for e in t.entries if e.at == at(17, 3, 30)]
    assert len(put_v2) == 3 and len({e.step for e in put_v2}) == 1  # version + two label moves
    assert t.steps == len({(e.request_id, e.at) for e in t.entries})


def test_removed_version_is_shredded_and_ends_its_lane(known):
    t = load_timeline(known.ledger, "prod/db")
    v2 = t.lanes[1]
    assert v2.shredded and v2.end_reason == "removed (cleanup)" and v2.ended_at == at(18, 5, 0)
    (removed,) = t.of_kind(H.REMOVED)
    assert removed.who == "secretsmanager.amazonaws.com" and removed.version_id == v2.version_id
    assert [lane.shredded for lane in t.lanes] == [False, True, False, False]


def test_deletion_and_restore_and_metadata_changes(known):
    t = load_timeline(known.ledger, "prod/db")
    (deletion,) = t.of_kind(H.DELETION)
    assert "2026-03-25T06:00:00Z" in deletion.detail
    assert t.status == "active" and t.of_kind(H.RESTORED)[0].at == at(18, 6, 5)
    assert t.description == "primary database (team key)"
    assert t.tags == {"sensitivity": "high", "team": "core"}
    assert t.kms_key_id == known.key_arn


def test_a_force_deleted_secret_keeps_its_history_with_every_version_shredded(known):
    t = load_timeline(known.ledger, "tmp/gone")
    assert t.status == "deleted" and [e.kind for e in t.entries][-2:] == [H.DELETION,
                                                                          H.DELETED]
    (lane,) = t.lanes
    assert lane.shredded and lane.end_reason == "secret deleted"
    assert all(s.end_step is not None for s in t.spans)


def test_history_as_of_a_time_stops_there(known):
    t = load_timeline(known.ledger, "prod/db", at(17, 3, 35))
    assert [lane.version_id for lane in t.lanes] == known.versions[:2]
    assert kinds(t)[H.KEY] == 0 and kinds(t)[H.READ] == 1
    assert t.labels == {"AWSCURRENT": known.versions[1], "AWSPREVIOUS": known.versions[0]}
    assert t.as_of == at(17, 3, 35) and max(e.at for e in t.entries) <= at(17, 3, 35)


def test_a_secret_created_later_under_the_same_name_has_its_own_history(known, clock):
    clock.now = at(19, 1, 0)
    known.ledger.call("CreateSecret", {"Name": "tmp/gone", "SecretString": "Hv-reborn-7Q"},
                      ALICE)
    known.ledger.call("GetSecretValue", {"SecretId": "tmp/gone"}, BOB)
    reborn = load_timeline(known.ledger, "tmp/gone")
    assert reborn.created_at == at(19, 1, 0) and kinds(reborn)[H.READ] == 1
    assert kinds(reborn)[H.DELETED] == 0
    before = load_timeline(known.ledger, "tmp/gone", at(18, 8, 0))
    assert kinds(before)[H.DELETED] == 1 and kinds(before)[H.READ] == 0


def test_an_unknown_secret_is_not_found(known):
    with pytest.raises(ResourceNotFoundException):
        load_timeline(known.ledger, "no/such")


def test_integrity_is_verified_unless_skipped(known):
    assert load_timeline(known.ledger, "prod/db").integrity.state == "valid"
    assert load_timeline(known.ledger, "prod/db", verify=False).integrity is None


def test_building_needs_the_secret_created_event_first():
    with pytest.raises(ValueError, match="SecretCreated"):
        H.build_timeline([], [(1, {"eventName": "GetSecretValue", "resources": []})])
    assert H.short_principal("arn:aws:iam::1:user/a") == "user/a"
    assert H.short_principal("secretsmanager.amazonaws.com") == "secretsmanager.amazonaws.com"


def test_a_batch_read_counts_once_per_secret_read(known, clock):
    clock.now = at(19, 2, 0)
    known.ledger.call("BatchGetSecretValue", {"SecretIdList": ["prod/db"]}, BOB,
                      request_id="req-batch-0001")
    t = load_timeline(known.ledger, "prod/db")
    (batch,) = [e for e in t.of_kind(H.READ) if e.request_id == "req-batch-0001"]
    assert batch.version_id == known.versions[3]  # AWSCURRENT then
    assert batch.operation == "GetSecretValue"
