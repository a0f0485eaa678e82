"""Concurrent writers on one secret: threads in one ledger, and processes on one SQLite file.

Afterwards every accepted UpdateSecret is exactly one version, AWSCURRENT is on exactly one
version, AWSPREVIOUS on the one that held AWSCURRENT just before it, and no label is on two
versions. Every label move is in the log, each starting where the previous one ended.
"""
from __future__ import annotations

import multiprocessing
import queue
import threading
from collections import Counter
from typing import Any

import pytest

from ledger.application import SecretsLedger
from ledger.context import Caller
from ledger.keys.rootkey import load_root_key
from tests.core.concurrent_workers import (
    caller_for, create_race, open_ledger, process_main, update_many,
)
from tests.core.support import secret_events

NAME = "shared/secret"
RACE = "race/contested"
THREADS, THREAD_CALLS = 8, 15
PROCESSES, PROCESS_CALLS = 3, 15


def check_history(ledger: SecretsLedger, caller: Caller, initial: str,
                  accepted: list[tuple[str, str]]) -> None:
    ids = [version_id for version_id, _ in accepted]
    assert len(set(ids)) == len(ids)
    listed = ledger.call("ListSecretVersionIds",
                         {"SecretId": NAME, "IncludeDeprecated": True, "MaxResults": 100},
                         caller)
    versions = listed["Versions"]
    while "NextToken" in listed:
        listed = ledger.call("ListSecretVersionIds",
                             {"SecretId": NAME, "IncludeDeprecated": True, "MaxResults": 100,
                              "NextToken": listed["NextToken"]}, caller)
        versions += listed["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted([initial, *ids])
    labels = Counter(label for v in versions for label in v.get("VersionStages", []))
    assert labels == {"AWSCURRENT": 1, "AWSPREVIOUS": 1}

    events = secret_events(ledger, NAME)
    created = [e.version_id for e in events if type(e).__name__ == "VersionCreated"]
    assert sorted(created) == sorted([initial, *ids])
    current = [(e.from_version, e.to_version) for e in events
               if type(e).__name__ == "LabelMoved" and e.label == "AWSCURRENT"]
    assert [to for _, to in current] == created  # each new version took AWSCURRENT in turn
    assert [frm for frm, _ in current] == [None, *created[:-1]]  # from where the last left it
    previous = [(e.from_version, e.to_version) for e in events
                if type(e).__name__ == "LabelMoved" and e.label == "AWSPREVIOUS"]
    assert [to for _, to in previous] == created[:-1]
    assert [frm for frm, _ in previous] == [None, *created[:-2]]

    secret = ledger.find_secret(NAME)
    assert secret.labels == {"AWSCURRENT": created[-1], "AWSPREVIOUS": created[-2]}
    by_stage = {v["VersionId"]: v.get("VersionStages", []) for v in versions}
    assert by_stage[created[-1]] == ["AWSCURRENT"] and by_stage[created[-2]] == ["AWSPREVIOUS"]
    written = dict(accepted)
    current_value = ledger.call("GetSecretValue", {"SecretId": NAME}, caller)
    assert current_value["SecretString"] == written[created[-1]]
    for version_id in ids[:: max(1, len(ids) // 10)]:
        response = ledger.call("GetSecretValue", {"SecretId": NAME, "VersionId": version_id},
                               caller)
        assert response["SecretString"] == written[version_id]


def run_threads(target, count: int) -> list[Any]:
    """Run target(i) in `count` threads started together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    failures: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]
    return results


@pytest.fixture(params=["memory", "sqlite"])
def big_ledger(request, tmp_path) -> SecretsLedger:
    return open_ledger(None if request.param == "memory" else tmp_path / "data")


def test_threads_updating_one_secret_lose_no_version_or_label_move(big_ledger):
    caller = caller_for("main")
    initial = big_ledger.call("CreateSecret", {"Name": NAME, "SecretString": "initial"},
                              caller)["VersionId"]
    stop = threading.Event()
    seen: set[str] = set()

    def read_while_writing() -> None:
        while not stop.is_set():
            response = big_ledger.call("GetSecretValue", {"SecretId": NAME}, caller)
            seen.add(response["SecretString"])

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        batches = run_threads(
            lambda i: update_many(big_ledger, NAME, f"thread{i}", THREAD_CALLS), THREADS)
    finally:
        stop.set()
        reader.join(timeout=60)
    accepted = [pair for batch in batches for pair in batch]
    assert len(accepted) == THREADS * THREAD_CALLS
    check_history(big_ledger, caller, initial, accepted)
    assert seen <= {"initial"} | {value for _, value in accepted}


def test_threads_racing_to_create_one_name_leave_exactly_one_winner(big_ledger):
    outcomes = run_threads(lambda i: create_race(big_ledger, RACE, f"thread{i}", f"v{i}"),
                           THREADS)
    assert Counter(outcomes) == {"created": 1, "ResourceExistsException": THREADS - 1}
    winner = outcomes.index("created")
    caller = caller_for("main")
    assert big_ledger.call("GetSecretValue", {"SecretId": RACE}, caller)["SecretString"] == \
        f"v{winner}"
    listed = big_ledger.call("ListSecrets", {}, caller)["SecretList"]
    assert [entry["Name"] for entry in listed] == [RACE]


@pytest.fixture(scope="module")
def process_run(tmp_path_factory) -> dict[str, Any]:
    """Three spawned processes, each with its own ledger on one SQLite data directory."""
    data_dir = tmp_path_factory.mktemp("processes") / "data"
    ledger = open_ledger(data_dir)
    caller = caller_for("main")
    initial = ledger.call("CreateSecret", {"Name": NAME, "SecretString": "initial"},
                          caller)["VersionId"]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=process_main,
                                 args=(str(data_dir), f"proc{i}", RACE, NAME, PROCESS_CALLS,
                                       barrier, results))
                 for i in range(PROCESSES)]
    for process in processes:
        process.start()
    reports = []
    try:
        for _ in processes:
            reports.append(results.get(timeout=120))
    except queue.Empty:
        pytest.fail("a worker process did not report")
    finally:
        for process in processes:
            process.join(timeout=30)
    errors = [report[4] for report in reports if report[4]]
    assert errors == []
    return {"ledger": ledger, "caller": caller, "initial": initial, "reports": reports,
            "pids": {process.pid for process in processes}}


def test_processes_updating_one_secret_lose_no_version_or_label_move(process_run):
    reports = process_run["reports"]
    assert {report[1] for report in reports} == process_run["pids"]
    accepted = [pair for report in reports for pair in report[3]]
    assert len(accepted) == PROCESSES * PROCESS_CALLS
    check_history(process_run["ledger"], process_run["caller"], process_run["initial"],
                  accepted)


def test_processes_racing_to_create_one_name_leave_exactly_one_winner(process_run):
    outcomes = {report[0]: report[2] for report in process_run["reports"]}
    assert Counter(outcomes.values()) == {"created": 1,
                                          "ResourceExistsException": PROCESSES - 1}
    winner = next(worker for worker, outcome in outcomes.items() if outcome == "created")
    value = process_run["ledger"].call("GetSecretValue", {"SecretId": RACE},
                                       process_run["caller"])["SecretString"]
    assert value == f"race-{winner}"


def test_first_opening_of_a_data_directory_by_many_at_once_agrees_on_one_root_key(tmp_path):
    keys = run_threads(lambda i: load_root_key(tmp_path, environ={}), THREADS)
    assert len(set(keys)) == 1 and len(keys[0]) == 32
