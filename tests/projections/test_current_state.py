"""The current-state view: equal to the aggregates, equal to a rebuild, read-your-writes."""
from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.shapes import secret_entry, version_entry
from projections.replay import replay
from tests.projections.conftest import BOB, make_ledger


def _aggregate_answers(ledger, name):
    """What DescribeSecret and ListSecretVersionIds would say, computed from the aggregate."""
    secret = ledger.find_secret(name)
    versions = sorted(secret.versions.values(), key=lambda v: v.created_at, reverse=True)
    default_key = ledger.kms.default_key_arn()
    return secret_entry(secret), [version_entry(secret, v, default_key) for v in versions]


def test_view_answers_equal_the_aggregates_after_a_scripted_history(history_ledger, caller):
    ledger, _ = history_ledger
    names = [s.name for s in ledger.all_secrets()]
    assert set(names) == {"prod/db", "svc/api", "svc/blob"}
    for name in names:
        describe, versions = _aggregate_answers(ledger, name)
        assert ledger.call("DescribeSecret", {"SecretId": name}, caller) == describe
        listed = ledger.call("ListSecretVersionIds",
                             {"SecretId": name, "IncludeDeprecated": True}, caller)
        assert listed["Versions"] == versions
    listed = ledger.call("ListSecrets", {"IncludePlannedDeletion": True}, caller)["SecretList"]
    expected = {s.name: secret_entry(s, "SecretVersionsToStages") for s in ledger.all_secrets()}
    assert {e["Name"]: e for e in listed} == expected


def test_rebuild_from_zero_equals_the_live_view(history_ledger):
    ledger, _ = history_ledger
    read_models = ledger.read_models
    read_models.refresh_all()
    live = read_models.digests()
    assert read_models.rebuild() > 0
    assert read_models.digests() == live
    report = replay(ledger)
    assert report.equal and [v.view for v in report.views] == [v.name for v in read_models.views]


def test_replay_into_a_file_reports_a_view_that_differs(history_ledger, tmp_path):
    ledger, _ = history_ledger
    ledger.read_models.refresh_all()
    with ledger.read_models.store.writing() as cursor:  # damage the live view
        cursor.execute("UPDATE cs_secrets SET description = 'edited' WHERE name = 'prod/db'")
    report = replay(ledger, into=tmp_path / "fresh.db")
    assert not report.equal
    assert [v.equal for v in report.views] == [False, True]
    with pytest.raises(FileExistsError):
        replay(ledger, into=tmp_path / "fresh.db")


def test_read_after_write_sees_the_write_without_any_explicit_refresh(ledger, caller):
    ledger.call("CreateSecret", {"Name": "ryw", "SecretString": "first-value-1"}, caller)
    assert "Description" not in ledger.call("DescribeSecret", {"SecretId": "ryw"}, caller)
    ledger.call("UpdateSecret", {"SecretId": "ryw", "Description": "now described"}, caller)
    assert ledger.call("DescribeSecret", {"SecretId": "ryw"}, caller)["Description"] == \
        "now described"
    put = ledger.call("PutSecretValue", {"SecretId": "ryw", "SecretString": "second-value"}, caller)
    stages = ledger.call("DescribeSecret", {"SecretId": "ryw"}, caller)["VersionIdsToStages"]
    assert stages[put["VersionId"]] == ["AWSCURRENT"]


def test_a_read_sees_writes_made_by_another_ledger_on_the_same_file(tmp_path, clock, caller):
    reader = make_ledger(tmp_path / "data", clock)
    writer = make_ledger(tmp_path / "data", clock)
    reader.call("ListSecrets", {}, caller)  # the reader's view is now at the log's end
    writer.call("CreateSecret", {"Name": "elsewhere", "SecretString": "written-elsewhere"},
                caller)
    names = [e["Name"] for e in reader.call("ListSecrets", {}, caller)["SecretList"]]
    assert names == ["elsewhere"]


def test_view_lives_in_the_ledger_file_and_survives_a_restart(tmp_path, clock, caller):
    first = make_ledger(tmp_path / "data", clock)
    first.call("CreateSecret", {"Name": "kept", "SecretString": "kept-value-1"}, caller)
    first.call("DescribeSecret", {"SecretId": "kept"}, caller)
    position = first.read_models.store.position(first.read_models.current.name)
    second = make_ledger(tmp_path / "data", clock)
    assert second.read_models.store.position(second.read_models.current.name) == position > 0
    rows = second.read_models.store.query("SELECT name FROM cs_secrets")
    assert rows == [("kept",)]


def test_position_moves_past_events_the_view_ignores(ledger, caller):
    ledger.call("CreateSecret", {"Name": "quiet", "SecretString": "quiet-value-1"}, caller)
    for _ in range(3):
        ledger.call("GetRandomPassword", {}, caller)  # audit records only
    end = ledger.recorder.max_notification_id()
    ledger.call("ListSecrets", {}, caller)  # catches up to `end`, then adds its own record
    current = ledger.read_models.current.name
    assert ledger.read_models.store.position(current) == end


def test_applying_an_already_applied_position_is_refused_and_leaves_no_trace(ledger, caller):
    ledger.call("CreateSecret", {"Name": "once", "SecretString": "once-value-1"}, caller)
    read_models = ledger.read_models
    read_models.refresh_all()
    view, store = read_models.current, read_models.store
    before = store.digest(view.name, view.tables)
    first = ledger.recorder.select_notifications(0, 1, topics=view.topics,
                                                 inclusive_of_start=False)[0]
    with pytest.raises(IntegrityError):
        with store.writing() as cursor:
            cursor.execute("DELETE FROM cs_secrets")  # a change that must be rolled back
            store.record_position(cursor, view.name, first.id)
    assert store.digest(view.name, view.tables) == before


def test_tags_and_labels_keep_the_aggregates_order(ledger, caller):
    tags = [{"Key": k, "Value": k.upper()} for k in ("b", "a", "c")]
    ledger.call("CreateSecret", {"Name": "order", "SecretString": "order-value-1", "Tags": tags},
                caller)
    ledger.call("UntagResource", {"SecretId": "order", "TagKeys": ["b"]}, caller)
    ledger.call("TagResource", {"SecretId": "order", "Tags": [{"Key": "b", "Value": "B2"},
                                                              {"Key": "a", "Value": "A2"}]},
                caller)
    described = ledger.call("DescribeSecret", {"SecretId": "order"}, caller)
    assert described["Tags"] == [{"Key": "a", "Value": "A2"}, {"Key": "c", "Value": "C"},
                                 {"Key": "b", "Value": "B2"}]
    assert described == secret_entry(ledger.find_secret("order"))


def test_describe_by_full_and_partial_arn_and_unknown_names(ledger, caller):
    arn = ledger.call("CreateSecret", {"Name": "by/arn", "SecretString": "arn-value-01"},
                      caller)["ARN"]
    by_name = ledger.call("DescribeSecret", {"SecretId": "by/arn"}, caller)
    assert ledger.call("DescribeSecret", {"SecretId": arn}, caller) == by_name
    assert ledger.call("DescribeSecret", {"SecretId": arn[:-7]}, caller) == by_name
    with pytest.raises(Exception) as caught:
        ledger.call("DescribeSecret", {"SecretId": arn[:-1] + "Q"}, caller)
    assert caught.value.code == "ResourceNotFoundException"


def test_a_finally_deleted_name_can_be_reused_and_the_view_shows_only_the_new_secret(
        ledger, caller):
    first = ledger.call("CreateSecret", {"Name": "reuse", "SecretString": "reuse-value-1"},
                        caller)["ARN"]
    ledger.call("DeleteSecret", {"SecretId": "reuse", "ForceDeleteWithoutRecovery": True},
                caller)
    second = ledger.call("CreateSecret", {"Name": "reuse", "SecretString": "reuse-value-2"},
                         BOB)["ARN"]
    assert first != second
    assert ledger.call("DescribeSecret", {"SecretId": "reuse"}, caller)["ARN"] == second
    assert [e["ARN"] for e in ledger.call("ListSecrets", {}, caller)["SecretList"]] == [second]

