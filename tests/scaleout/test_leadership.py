"""One process at a time runs the projections on PostgreSQL; every other process's reads wait
for it, and still see every write acknowledged before they began.

Each ledger here has its own connection pools and leadership session, exactly as a separate
process would.
"""
from __future__ import annotations

import threading
import time

import pytest

from projections.replay import replay
from tests.scaleout.cluster import check_audit_records

pytestmark = pytest.mark.postgres


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_one_ledger_leads_and_the_others_reads_wait_for_it(open_pg_ledger, caller):
    first, second = open_pg_ledger(), open_pg_ledger()
    first.call("ListSecrets", {}, caller)
    wait_until(lambda: first.read_models.leadership.leading)
    second.call("CreateSecret", {"Name": "made/by-second", "SecretString": "v"}, caller)
    described = second.call("DescribeSecret", {"SecretId": "made/by-second"}, caller)
    assert described["Name"] == "made/by-second"  # read-your-writes through the leader
    assert not second.read_models.leadership.leading
    assert second.read_models.refresh_all() == 0  # it applied nothing itself
    views = second.read_models
    end = second.recorder.max_notification_id()
    assert all(position >= end - 1 for position in views.positions().values())


def test_when_the_leader_goes_another_ledger_takes_over(open_pg_ledger, caller):
    first, second = open_pg_ledger(), open_pg_ledger()
    first.call("ListSecrets", {}, caller)
    wait_until(lambda: first.read_models.leadership.leading)
    second.read_models.follow_in_background()
    time.sleep(0.2)
    assert not second.read_models.leadership.leading
    first.close()
    wait_until(lambda: second.read_models.leadership.leading)
    second.call("CreateSecret", {"Name": "after/failover", "SecretString": "v"}, caller)
    listed = second.call("ListSecrets", {}, caller)["SecretList"]
    assert [s["Name"] for s in listed] == ["after/failover"]


def test_two_ledgers_catching_up_at_once_apply_each_event_exactly_once(open_pg_ledger, caller):
    """What makes a leader's death harmless: even without the lock, concurrent catch-ups
    never apply an event twice or skip one."""
    writer = open_pg_ledger()
    request_ids = []
    for i in range(30):
        response = writer.call("CreateSecret", {"Name": f"race/{i}", "SecretString": "v"},
                               caller, request_id=f"req-{i:04d}")
        request_ids.append(f"req-{i:04d}")
        assert response["Name"] == f"race/{i}"
    racers = [open_pg_ledger() for _ in range(3)]
    barrier = threading.Barrier(len(racers))

    def race(ledger):
        barrier.wait()
        ledger.read_models._catch_up_all()  # bypasses the leadership on purpose

    threads = [threading.Thread(target=race, args=(ledger,)) for ledger in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check_audit_records(racers[0], request_ids)
    assert replay(racers[0]).equal
