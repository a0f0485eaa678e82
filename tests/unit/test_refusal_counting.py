"""Counting refusals before authentication, and the throttle on them, with injected clocks."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ledger.refusals import FOLDED, RefusalKey, RefusalTally
from projections.period_report import summarize
from tools.throttle import FailureThrottle

T0 = datetime(2026, 12, 3, 12, 0, 0, tzinfo=timezone.utc)
ANONYMOUS = RefusalKey("127.0.0.1", "", "MissingAuthenticationTokenException", "ListSecrets")


def add(tally: RefusalTally, key: RefusalKey, at: datetime, throttled: bool = False) -> None:
    tally.add(key, at, throttled=throttled, request_id=f"r-{at.timestamp()}", message="m",
              user_agent="ua", region=None)


def test_a_group_is_due_one_interval_after_its_first_refusal():
    tally = RefusalTally(60)
    add(tally, ANONYMOUS, T0)
    add(tally, ANONYMOUS, T0 + timedelta(seconds=59), throttled=True)
    assert tally.take(T0 + timedelta(seconds=59)) == []
    [group] = tally.take(T0 + timedelta(seconds=60))
    assert (group.count, group.throttled, group.first, group.last) == (
        2, 1, T0, T0 + timedelta(seconds=59))
    assert group.request_id == f"r-{T0.timestamp()}"  # the first refusal's
    assert tally.take(None) == []


def test_varying_the_claimed_key_id_past_the_cap_buys_no_more_groups():
    tally = RefusalTally(60, max_groups=10)
    for n in range(1000):
        add(tally, RefusalKey("127.0.0.1", f"AKIA{n:016d}", "UnrecognizedClientException", ""),
            T0)
    groups = tally.take(None)
    assert len(groups) == 11
    folded = [g for g in groups if g.key.access_key_id == FOLDED]
    assert [(g.key.source_ip, g.count) for g in folded] == [(FOLDED, 990)]


def test_groups_that_could_not_be_stored_are_merged_back():
    tally = RefusalTally(60)
    add(tally, ANONYMOUS, T0)
    taken = tally.take(None)
    add(tally, ANONYMOUS, T0 + timedelta(seconds=5))
    tally.restore(taken)
    [group] = tally.take(None)
    assert (group.count, group.first, group.last) == (2, T0, T0 + timedelta(seconds=5))


def test_the_throttle_allows_a_burst_then_the_refill_rate_per_peer():
    now = [0.0]
    throttle = FailureThrottle(rate=2, burst=3, monotonic=lambda: now[0])
    flooder, other = ("127.0.0.1", ""), ("127.0.0.1", "AKIAOTHER")
    assert [throttle.allow(flooder) for _ in range(5)] == [True, True, True, False, False]
    assert throttle.allow(other)  # another key id from the same address has its own bucket
    now[0] = 1.0
    assert [throttle.allow(flooder) for _ in range(3)] == [True, True, False]


def test_the_throttle_keeps_a_bounded_number_of_buckets():
    throttle = FailureThrottle(rate=0, burst=1, max_peers=100)
    for n in range(1000):
        throttle.allow(("127.0.0.1", str(n)))
    assert len(throttle._buckets) == 100


def test_a_period_report_counts_each_refusal_of_a_counted_record():
    record = {"eventName": "ListSecrets", "eventType": "AwsApiCall", "readOnly": True,
              "eventTime": "2026-12-03T12:00:00Z", "userIdentity": {"type": "Unknown"},
              "errorCode": "MissingAuthenticationTokenException", "errorMessage": "m",
              "resources": [], "requestParameters": None,
              "additionalEventData": {"count": 1000, "throttledCount": 950}}
    report = summarize([(1, record)], [], [], None, None)
    assert (report.calls, report.errors_by_code["MissingAuthenticationTokenException"]) == (
        1000, 1000)
    assert report.by_principal == {"Unknown": 1000}
    assert len(report.denied) == 1  # one row: the record, with its count in the trail
