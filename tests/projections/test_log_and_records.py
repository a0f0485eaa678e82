"""The views' log reader decodes like eventsourcing's mapper; audit rows render to records that
their index rows describe; views of an older shape are rebuilt, not misread."""
from __future__ import annotations

import json
import sqlite3

import pytest

from ledger.calls import ApiCallRecorded
from ledger.shapes import secret_entry
from projections import cloudtrail, export, lookup
from projections.audit_trail import index_pairs, lookup_values
from projections.log_reader import LogReader
from projections.replay import replay
from projections.view_schema import retire_stale_views
from tests.projections.conftest import ACCOUNT, BOB, make_ledger


def test_the_log_reader_decodes_every_event_as_the_mapper_does(shared_history):
    ledger, _ = shared_history
    notes = ledger.recorder.select_notifications(0, 10**6, inclusive_of_start=False)
    expected = [(n.id, n.topic, ledger.mapper.to_domain_event(n)) for n in notes]
    reader = LogReader(ledger.recorder, ledger.mapper)
    read, start = [], 0
    while batch := reader.after(start, 7):
        read += batch
        start = batch[-1][0]
    assert [(p, t, type(e), vars(e)) for p, t, e in read] == \
        [(p, t, type(e), vars(e)) for p, t, e in expected]
    some = [p for p, _, _ in expected][::5]
    assert {p: vars(e) for p, e in reader.at(some).items()} == \
        {p: vars(e) for p, _, e in expected if p in some}
    topics = (expected[0][1],)
    assert [p for p, _, _ in reader.after(0, 10**6, topics=topics)] == \
        [p for p, t, _ in expected if t in topics]


def test_a_records_index_rows_are_what_its_rendered_record_can_be_found_by(shared_history):
    ledger, _ = shared_history
    rows = ledger.read_models.read_audit(lambda c: (
        c.execute("SELECT position, value_hash, removed_version FROM audit_events "
                  "ORDER BY position"), [tuple(r) for r in c.fetchall()])[1])
    events = LogReader(ledger.recorder, ledger.mapper).at(p for p, _, _ in rows)
    with ledger.read_models.store.reading() as cursor:
        cursor.execute("SELECT position, attribute, value FROM audit_lookup")
        indexed: dict[int, set] = {}
        for position, attribute, value in cursor.fetchall():
            indexed.setdefault(position, set()).add((attribute, value))
    hashed = 0
    for position, value_hash, removed_version in rows:
        event = events[position]
        assert isinstance(event, ApiCallRecorded)
        record = cloudtrail.api_call_record(event, ACCOUNT, value_hash, removed_version)
        pairs = index_pairs(event, ACCOUNT, value_hash)
        assert pairs == lookup_values(record)
        assert indexed[position] == set(pairs)
        hashed += value_hash is not None
    assert hashed and any(r[2] for r in rows)  # value hashes and cleanup versions were seen


def test_records_render_the_same_every_time_and_only_through_a_trail_cursor(shared_history):
    ledger, _ = shared_history
    first = ledger.read_models.read_audit(lambda c: list(export.records(c)))
    again = ledger.read_models.read_audit(lambda c: list(export.records(c)))
    assert first == again and all(json.loads(text)["eventID"] for text in first)
    query = lookup.parse_query(None, None, None)
    with ledger.read_models.store.reading() as plain:
        with pytest.raises(TypeError, match="TrailCursor"):
            lookup.lookup(plain, query)
        with pytest.raises(TypeError, match="TrailCursor"):
            list(export.records(plain))


def test_views_of_an_older_shape_are_dropped_and_rebuilt_from_the_log(tmp_path, clock, caller):
    ledger = make_ledger(tmp_path / "data", clock)
    ledger.call("CreateSecret", {"Name": "kept", "SecretString": "Shape-value-1"}, caller)
    expected = secret_entry(ledger.find_secret("kept"))
    ledger.read_models.refresh_all()
    live = ledger.read_models.digests()
    ledger.close()
    db = tmp_path / "data" / "ledger.db"
    with sqlite3.connect(db) as connection:  # as an older release left it
        connection.execute("DROP TABLE cs_secret_events")
        connection.execute("CREATE TABLE cs_secret_events (secret_id TEXT NOT NULL, "
                           "version INTEGER NOT NULL, position INTEGER NOT NULL, "
                           "at INTEGER NOT NULL, PRIMARY KEY (secret_id, version))")
        connection.execute("DROP TABLE view_schemas")
    reopened = make_ledger(tmp_path / "data", clock)
    assert reopened.call("DescribeSecret", {"SecretId": "kept"}, caller) == expected
    digests = reopened.read_models.digests()
    current = reopened.read_models.current.name
    assert digests[current][1] == live[current][1]  # the same rows, rebuilt from the log
    assert replay(reopened).equal
    views = reopened.read_models.views
    assert retire_stale_views(db, views) == []  # now current: nothing more to drop


def test_a_view_kept_warm_in_one_ledger_sees_writes_another_ledger_applied(tmp_path, clock,
                                                                           caller):
    one = make_ledger(tmp_path / "data", clock)
    other = make_ledger(tmp_path / "data", clock)
    one.call("CreateSecret", {"Name": "shared", "SecretString": "Warm-value-1"}, caller)
    one.call("DescribeSecret", {"SecretId": "shared"}, caller)  # `one` folded it in memory
    other.call("UpdateSecret", {"SecretId": "shared", "Description": "by the other"}, BOB)
    other.call("DescribeSecret", {"SecretId": "shared"}, caller)  # `other` moved the view on
    one.call("TagResource", {"SecretId": "shared", "Tags": [{"Key": "k", "Value": "v"}]},
             caller)
    described = one.call("DescribeSecret", {"SecretId": "shared"}, caller)
    assert described["Description"] == "by the other"
    assert described == secret_entry(one.find_secret("shared"))
