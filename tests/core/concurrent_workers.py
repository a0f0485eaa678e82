"""Work done in spawned processes by the concurrency tests: each opens its own ledger."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.secret import Limits
from tests.grants import grant_full_access

LIMITS = Limits(max_versions=1000)


def open_ledger(data_dir: str | Path | None, grant: bool = True) -> SecretsLedger:
    """`grant`: give the workers' role an allow-all policy (once, by the parent process)."""
    config = LedgerConfig(data_dir=Path(data_dir) if data_dir else None, limits=LIMITS)
    ledger = SecretsLedger(config)
    if grant:
        grant_full_access(ledger, "role/writer")
    return ledger


def caller_for(worker: str) -> Caller:
    """Each worker is its own session of the one `writer` role, which holds the policy."""
    return Caller(arn=f"arn:aws:sts::123456789012:assumed-role/writer/{worker}",
                  access_key_id=f"ASIA{worker.upper():0>16}"[:20], principal_type="AssumedRole",
                  principal_id=f"AROAWRITER:{worker}")


def create_race(ledger: SecretsLedger, name: str, worker: str, value: str) -> str:
    """One CreateSecret on a contested name: the outcome's code, or 'created'."""
    try:
        ledger.call("CreateSecret", {"Name": name, "SecretString": value}, caller_for(worker))
    except LedgerError as error:
        return error.code
    return "created"


def update_many(ledger: SecretsLedger, name: str, worker: str, count: int) -> list[tuple[str, str]]:
    """`count` UpdateSecret calls; returns (VersionId, value) of every accepted call."""
    accepted = []
    for i in range(count):
        value = f"{worker}-value-{i}"
        response = ledger.call("UpdateSecret", {"SecretId": name, "SecretString": value},
                               caller_for(worker))
        accepted.append((response["VersionId"], value))
    return accepted


def process_main(data_dir: str, worker: str, race_name: str, name: str, count: int,
                 barrier: Any, results: Any) -> None:
    """Race for one name, then update one secret, starting together with the other processes."""
    try:
        ledger = open_ledger(data_dir, grant=False)
        barrier.wait(timeout=60)
        outcome = create_race(ledger, race_name, worker, f"race-{worker}")
        barrier.wait(timeout=60)
        accepted = update_many(ledger, name, worker, count)
        ledger.close()
        results.put((worker, os.getpid(), outcome, accepted, None))
    except BaseException as error:  # report, so the parent fails with the cause
        results.put((worker, os.getpid(), None, [], f"{type(error).__name__}: {error}"))
