"""Counting refusals before authentication, and the throttle on them, with injected clocks."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ledger.principals import RecentCredentials
from ledger.refusals import FOLDED, MAX_KEY_IDS_PER_SOURCE, RefusalKey, RefusalTally
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


def test_varying_the_source_past_the_cap_buys_no_more_groups():
    tally = RefusalTally(60, max_groups=10)
    for n in range(1000):
        add(tally, RefusalKey(f"10.0.{n // 256}.{n % 256}", f"AKIA{n:016d}",
                              "UnrecognizedClientException", ""), T0)
    groups = tally.take(None)
    assert len(groups) == 11
    folded = [g for g in groups if g.key.access_key_id == FOLDED]
    assert [(g.key.source_ip, g.count) for g in folded] == [(FOLDED, 990)]


def test_one_source_varying_the_claimed_key_id_gets_a_few_groups_then_one():
    tally = RefusalTally(60)
    for n in range(1000):
        add(tally, RefusalKey("127.0.0.1", f"AKIA{n:016d}", "UnrecognizedClientException", ""),
            T0)
    groups = tally.take(None)
    assert len(groups) == MAX_KEY_IDS_PER_SOURCE + 1
    folded = [g for g in groups if g.key.access_key_id == FOLDED]
    assert [(g.key.source_ip, g.count) for g in folded] == [("127.0.0.1", 992)]


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
        throttle.allow((f"10.0.{n // 256}.{n % 256}", str(n)))
    assert len(throttle._buckets) == 100


def test_one_address_naming_many_key_ids_shares_one_bucket_past_the_first_few():
    throttle = FailureThrottle(rate=0, burst=2)
    first = [throttle.allow(("127.0.0.1", f"AKIA{n}")) for n in range(MAX_KEY_IDS_PER_SOURCE)]
    rotated = [throttle.allow(("127.0.0.1", f"AKIAROTATED{n}")) for n in range(5)]
    assert first == [True] * MAX_KEY_IDS_PER_SOURCE and rotated == [True, True] + [False] * 3
    assert throttle.allow(("10.0.0.1", "AKIAROTATED9"))  # another address is not affected


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


def test_unknown_key_ids_never_push_known_keys_out_of_the_credentials_cache():
    """A client naming ever new unknown key ids costs storage reads for those, not for the
    keys clients really use (before, the cache emptied itself after 4,096 names)."""
    reads: list[str] = []

    class Principals:
        def credentials(self, access_key_id: str) -> object:
            reads.append(access_key_id)
            return ("caller", "secret") if access_key_id == "AKIAKNOWN" else None

    recent = RecentCredentials(Principals(), freshness=3600, max_entries=16,  # type: ignore[arg-type]
                               monotonic=lambda: 0.0)
    assert recent("AKIAKNOWN") == ("caller", "secret")
    for n in range(1000):
        assert recent(f"AKIAUNKNOWN{n:08d}") is None
    assert recent("AKIAKNOWN") == ("caller", "secret")
    assert reads.count("AKIAKNOWN") == 1
    assert recent("AKIAUNKNOWN00000999") is None
    assert len(reads) == 1001
