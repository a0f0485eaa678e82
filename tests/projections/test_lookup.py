"""LookupEvents over the trail: filters, time range, newest first, pages, errors, indexes."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from ledger.errors import LedgerError
from projections import export, lookup
from tests.projections.conftest import BOB, CAROL


def find(ledger, key=None, value=None, start=None, end=None, max_results=None, token=None):
    attributes = None if key is None else [{"AttributeKey": key, "AttributeValue": value}]
    query = lookup.parse_query(attributes, start, end)
    return ledger.read_models.read_audit(
        lambda c: lookup.lookup(c, query, max_results, token))


def find_all(ledger, key=None, value=None, start=None, end=None, page=50) -> list[dict]:
    events, token = [], None
    while True:
        response = find(ledger, key, value, start, end, page, token)
        events += response["Events"]
        token = response.get("NextToken")
        if token is None:
            return events


def record(entry: dict) -> dict:
    return json.loads(entry["CloudTrailEvent"])


def test_event_name_filter_returns_only_that_operation_newest_first(shared_history):
    ledger, _ = shared_history
    found = find_all(ledger, "EventName", "PutSecretValue")
    assert found and {e["EventName"] for e in found} == {"PutSecretValue"}
    times = [(record(e)["eventTime"]) for e in found]
    assert times == sorted(times, reverse=True)


def test_resource_name_matches_the_name_and_the_arn_alike(shared_history):
    ledger, _ = shared_history
    by_name = find_all(ledger, "ResourceName", "prod/db")
    arn = record(by_name[-1])["resources"][0]["ARN"]
    by_arn = find_all(ledger, "ResourceName", arn)
    # By name also finds calls that failed before resolving it (they name no ARN).
    failed = [e for e in by_name if "errorCode" in record(e)]
    assert [e["EventName"] for e in failed] == ["GetSecretValue"]  # the disabled-key read
    assert [e for e in by_name if e not in failed] == by_arn
    assert all(any(r["ResourceName"] == arn for r in e["Resources"]) for e in by_arn)
    names = {e["EventName"] for e in by_name}
    assert {"CreateSecret", "UpdateSecret", "GetSecretValue", "BatchGetSecretValue",
            "ListSecretVersionIds", "TagResource"} <= names


def test_resource_name_finds_failed_attempts_on_a_missing_secret(shared_history):
    ledger, _ = shared_history
    found = find_all(ledger, "ResourceName", "does/not/exist")
    assert [(e["EventName"], record(e)["errorCode"]) for e in found] == [
        ("DescribeSecret", "ResourceNotFoundException")]


def test_username_access_key_and_read_only_filters(shared_history):
    ledger, _ = shared_history
    bob = find_all(ledger, "Username", "bob")
    assert bob and all(record(e)["userIdentity"]["arn"] == BOB.arn for e in bob)
    carol = find_all(ledger, "Username", "carol-session")
    assert carol and all(record(e)["userIdentity"]["arn"] == CAROL.arn for e in carol)
    by_key = find_all(ledger, "AccessKeyId", BOB.access_key_id)
    assert [e["EventId"] for e in by_key] == [e["EventId"] for e in bob]
    reads = find_all(ledger, "ReadOnly", "true")
    writes = find_all(ledger, "ReadOnly", "false")
    assert all(e["ReadOnly"] == "true" for e in reads)
    assert len(reads) + len(writes) == len(find_all(ledger))


def test_event_id_finds_exactly_one_record(shared_history):
    ledger, _ = shared_history
    some = find_all(ledger)[7]
    assert find_all(ledger, "EventId", some["EventId"]) == [some]


def test_service_events_are_found_by_the_service_as_username(shared_history):
    ledger, _ = shared_history
    found = find_all(ledger, "Username", "secretsmanager.amazonaws.com")
    assert {e["EventName"] for e in found} == {"EndSecretVersionDelete"} and len(found) == 5


def test_time_range_bounds_are_inclusive(shared_history):
    ledger, _ = shared_history
    start = datetime(2026, 3, 17, 3, 13, tzinfo=timezone.utc)
    end = start + timedelta(minutes=1)
    found = find_all(ledger, start=start, end=end)
    times = {record(e)["eventTime"] for e in found}
    assert times == {"2026-03-17T03:13:00Z", "2026-03-17T03:14:00Z"}
    at_start = find_all(ledger, "EventName", "PutSecretValue", start=start, end=start)
    assert [record(e)["eventTime"] for e in at_start] == ["2026-03-17T03:13:00Z"]


def test_pages_cover_every_record_once_in_order(shared_history):
    ledger, _ = shared_history
    whole = find_all(ledger)
    paged = find_all(ledger, page=3)
    assert [e["EventId"] for e in paged] == [e["EventId"] for e in whole]
    first = find(ledger, max_results=3)
    assert len(first["Events"]) == 3 and "NextToken" in first
    last = find(ledger, "EventName", "RestoreSecret", max_results=50)
    assert "NextToken" not in last


def test_pages_do_not_shift_when_new_records_arrive(history_ledger, caller):
    ledger, _ = history_ledger
    first = find(ledger, max_results=5)
    ledger.call("ListSecrets", {}, caller)  # a newer record lands before page two
    second = find(ledger, max_results=5, token=first["NextToken"])
    whole = find_all(ledger)
    ids = [e["EventId"] for e in whole]
    assert [e["EventId"] for e in first["Events"] + second["Events"]] == ids[1:11]


@pytest.mark.parametrize("kwargs,code", [
    ({"max_results": 0}, "InvalidMaxResultsException"),
    ({"max_results": 51}, "InvalidMaxResultsException"),
    ({"token": "not-a-token"}, "InvalidNextTokenException"),
    ({"start": datetime(2026, 3, 18, tzinfo=timezone.utc),
      "end": datetime(2026, 3, 17, tzinfo=timezone.utc)}, "InvalidTimeRangeException"),
    ({"key": "Color", "value": "blue"}, "InvalidLookupAttributesException"),
    ({"key": "EventName", "value": ""}, "InvalidLookupAttributesException"),
])
def test_invalid_parameters_get_cloudtrails_errors(shared_history, kwargs, code):
    ledger, _ = shared_history
    with pytest.raises(LedgerError) as caught:
        find(ledger, **kwargs)
    assert caught.value.code == code


def test_a_token_replayed_with_other_parameters_is_refused(shared_history):
    ledger, _ = shared_history
    token = find(ledger, "ReadOnly", "false", max_results=2)["NextToken"]
    with pytest.raises(LedgerError) as caught:
        find(ledger, "ReadOnly", "true", max_results=2, token=token)
    assert caught.value.code == "InvalidNextTokenException"


def test_at_most_one_lookup_attribute():
    with pytest.raises(LedgerError) as caught:
        lookup.parse_query([{"AttributeKey": "EventName", "AttributeValue": "A"},
                            {"AttributeKey": "Username", "AttributeValue": "b"}], None, None)
    assert caught.value.code == "InvalidLookupAttributesException"


def skip_unless_sqlite_plans(ledger) -> None:
    """The plans checked are SQLite's; PostgreSQL's planner scans tables this small anyway."""
    if ledger.config.backend == "postgres":
        pytest.skip("query plans are checked on SQLite")


def test_lookup_on_one_secret_reads_an_index_not_the_whole_trail(shared_history):
    ledger, _ = shared_history
    skip_unless_sqlite_plans(ledger)
    query = lookup.parse_query([{"AttributeKey": "ResourceName", "AttributeValue": "prod/db"}],
                               datetime(2026, 3, 17, tzinfo=timezone.utc), None)
    plan = ledger.read_models.read_audit(lambda c: lookup.explain(c, query))
    assert "SEARCH l USING PRIMARY KEY (attribute=? AND value=? AND event_time>? AND " \
           "event_time<?)" in plan
    assert "SCAN" not in plan
    everything = ledger.read_models.read_audit(
        lambda c: lookup.explain(c, lookup.parse_query(None, None, None)))
    assert "USING INDEX audit_events_by_time" in everything
    assert "TEMP B-TREE" not in plan + everything  # no sort: the index gives the order


def test_export_as_cloudtrail_log_file_and_json_lines(shared_history):
    ledger, _ = shared_history
    files = {}
    for fmt in export.FORMATS:
        out = io.StringIO()
        files[fmt] = (ledger.read_models.read_audit(lambda c: export.write(c, out, fmt)),
                      out.getvalue())
    count, text = files["cloudtrail"]
    log_file = json.loads(text)
    assert list(log_file) == ["Records"] and len(log_file["Records"]) == count
    count_lines, lines = files["jsonl"]
    assert [json.loads(line) for line in lines.splitlines()] == log_file["Records"]
    assert count_lines == count == len(find_all(ledger))
    with pytest.raises(ValueError):
        ledger.read_models.read_audit(lambda c: export.write(c, io.StringIO(), "xml"))


def test_export_of_a_time_range(shared_history):
    ledger, _ = shared_history
    out = io.StringIO()
    moment = datetime(2026, 3, 17, 3, 14, tzinfo=timezone.utc)
    from projections.secret_view import to_micros
    ledger.read_models.read_audit(
        lambda c: export.write(c, out, "jsonl", to_micros(moment), to_micros(moment)))
    times = {json.loads(line)["eventTime"] for line in out.getvalue().splitlines()}
    assert times == {"2026-03-17T03:14:00Z"}


def test_event_source_matches_every_record_of_secrets_manager_and_nothing_else(shared_history):
    ledger, _ = shared_history
    everything = find_all(ledger)
    assert find_all(ledger, "EventSource", "secretsmanager.amazonaws.com") == everything
    assert find_all(ledger, "EventSource", "kms.amazonaws.com") == []


def test_event_id_lookup_uses_the_unique_index(shared_history):
    ledger, _ = shared_history
    skip_unless_sqlite_plans(ledger)
    some = find_all(ledger)[3]["EventId"]
    query = lookup.parse_query([{"AttributeKey": "EventId", "AttributeValue": some}], None, None)
    plan = ledger.read_models.read_audit(lambda c: lookup.explain(c, query))
    assert "USING INDEX sqlite_autoindex_audit_events_1 (event_id=?)" in plan
