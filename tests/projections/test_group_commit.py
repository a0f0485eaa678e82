"""Group commit: concurrent reads share durable commits; each still fails closed on its own."""
from __future__ import annotations

import threading
import time

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from ledger.calls import ApiCallRecorded
from ledger.errors import LedgerError
from ledger.group_commit import GroupCommit


class SlowRecorder:
    """Stands in front of the real recorder; each commit takes a while, so callers pile up."""

    def __init__(self, recorder, delay: float = 0.005) -> None:
        self.recorder, self.delay, self.sizes = recorder, delay, []

    def insert_events(self, events, **kwargs):
        self.sizes.append(len(events))
        time.sleep(self.delay)
        return self.recorder.insert_events(events, **kwargs)


class FailingRecorder:
    def insert_events(self, events, **kwargs):
        raise OperationalError("disk I/O error")


def api_records(ledger, operation: str) -> int:
    notes = ledger.recorder.select_notifications(0, 10**6, inclusive_of_start=False)
    return sum(1 for e in map(ledger.mapper.to_domain_event, notes)
               if isinstance(e, ApiCallRecorded) and e.context["operation"] == operation)


def test_concurrent_reads_share_commits_and_every_read_is_recorded(sqlite_ledger, caller):
    ledger = sqlite_ledger
    ledger.call("CreateSecret", {"Name": "hot", "SecretString": "Gc-hot-value"}, caller)
    ledger.call("GetSecretValue", {"SecretId": "hot"}, caller)  # today's access noted
    slow = SlowRecorder(ledger.recorder)
    ledger.group_commit = GroupCommit(slow)
    answers: list[str] = []

    def reader() -> None:
        for _ in range(10):
            answers.append(ledger.call("GetSecretValue", {"SecretId": "hot"}, caller)
                           ["SecretString"])

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["Gc-hot-value"] * 80
    assert api_records(ledger, "GetSecretValue") == 81
    assert ledger.group_commit.saves == 80
    assert len(slow.sizes) < 80 and max(slow.sizes) > 1  # commits were shared


def test_a_lone_read_commits_at_once(sqlite_ledger, caller):
    ledger = sqlite_ledger
    ledger.call("CreateSecret", {"Name": "lone", "SecretString": "Gc-lone-value"}, caller)
    ledger.call("GetSecretValue", {"SecretId": "lone"}, caller)
    before = ledger.group_commit.batches
    ledger.call("GetSecretValue", {"SecretId": "lone"}, caller)
    assert ledger.group_commit.batches == before + 1


def test_concurrent_writes_share_commits_and_lose_no_version(sqlite_ledger, caller):
    """Writes are grouped too: writers of different secrets share commits, and writers of the
    same secret whose saves land in one batch are split apart, the loser retrying on fresh
    state, so every acknowledged version exists and AWSCURRENT is the last one written."""
    ledger = sqlite_ledger
    names = ["gc-a", "gc-b", "gc-shared"]
    for name in names:
        ledger.call("CreateSecret", {"Name": name, "SecretString": "Gc-w-initial"}, caller)
    slow = SlowRecorder(ledger.recorder)
    ledger.group_commit = GroupCommit(slow)
    acknowledged: dict[str, list[str]] = {name: [] for name in names}
    lock = threading.Lock()

    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(3):  # 3 writers x 3 on the shared secret stay within its quota of 10
                response = ledger.call("UpdateSecret",
                                       {"SecretId": name, "SecretString": f"Gc-w-{name}-{i}"},
                                       caller)
                with lock:
                    acknowledged[name].append(response["VersionId"])
        except BaseException as error:  # a thread's failure must fail the test
            errors.append(error)
            raise

    targets = ["gc-a", "gc-b", "gc-shared", "gc-shared", "gc-shared"]
    threads = [threading.Thread(target=writer, args=(name,)) for name in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert max(slow.sizes) > 1 and ledger.group_commit.batches < ledger.group_commit.saves
    for name in names:
        listed = ledger.call("ListSecretVersionIds", {"SecretId": name, "IncludeDeprecated": True},
                             caller)
        stored = {v["VersionId"] for v in listed["Versions"]}
        assert set(acknowledged[name]) <= stored
        assert len(stored) == len(acknowledged[name]) + 1
        current = [v for v in listed["Versions"] if "AWSCURRENT" in v.get("VersionStages", [])]
        assert len(current) == 1


def test_a_read_whose_record_cannot_be_written_returns_no_value(sqlite_ledger, caller):
    ledger = sqlite_ledger
    ledger.call("CreateSecret", {"Name": "closed", "SecretString": "Gc-closed-value"}, caller)
    ledger.call("GetSecretValue", {"SecretId": "closed"}, caller)
    ledger.group_commit = GroupCommit(FailingRecorder())
    with pytest.raises(LedgerError) as caught:
        ledger.call("GetSecretValue", {"SecretId": "closed"}, caller)
    assert caught.value.code == "InternalServiceError"
    assert "Gc-closed-value" not in repr(caught.value)


def test_one_failing_save_in_a_batch_fails_alone():
    class Poisoned:
        def __init__(self) -> None:
            self.committed: list[list[str]] = []

        def insert_events(self, events, **kwargs):
            if "poison" in events:
                raise IntegrityError("duplicate record")
            self.committed.append(list(events))
            return list(range(len(events)))

    recorder = Poisoned()
    group = GroupCommit(recorder)
    results: dict[str, object] = {}
    group._commit_lock.acquire()  # hold commits until all three are queued

    def save(name: str, events: list[str]) -> None:
        try:
            results[name] = list(group.insert(events))
        except IntegrityError as error:
            results[name] = error

    threads = [threading.Thread(target=save, args=(n, e)) for n, e in
               (("a", ["a1", "a2"]), ("bad", ["poison"]), ("c", ["c1"]))]
    for thread in threads:
        thread.start()
    while len(group._queue) < 3:
        time.sleep(0.001)
    group._commit_lock.release()
    for thread in threads:
        thread.join()
    assert results["a"] == [0, 1] and results["c"] == [0]
    assert isinstance(results["bad"], IntegrityError)
    assert sorted(map(tuple, recorder.committed)) == [("a1", "a2"), ("c1",)]
