"""UpdateSecret calls/s through the library on an SQLite file, next to a bare eventsourcing save.

Both run in the same process, on the same disk, in the same run, so the ratio is meaningful on a
noisy machine. The baseline saves one event per call on a minimal aggregate with the default
settings, with the aggregate kept in memory (no read); the ledger does everything a real call does: validation, a fresh data key, AES-GCM,
label moves, the audit record and the key store row, in one durable transaction.
Never prints a secret value.

    python -m tools.bench_update [--calls 2000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.secret import Limits


class Counter(Aggregate):
    @event("Created")
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self, by: int) -> None:
        self.count += by


def bare_rate(directory: Path, calls: int) -> float:
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                           "SQLITE_DBNAME": str(directory / "bare.db")})
    counter = Counter()
    app.save(counter)
    started = time.perf_counter()
    for _ in range(calls):
        counter.increment(1)
        app.save(counter)
    return calls / (time.perf_counter() - started)


def ledger_rate(directory: Path, calls: int) -> float:
    ledger = SecretsLedger(LedgerConfig(data_dir=directory / "ledger", limits=Limits()))
    caller = Caller.system()
    # Spread over enough secrets to stay under the 100-versions-per-day quota.
    names = [f"bench/db-{i}" for i in range(calls // 80 + 1)]
    for name in names:
        ledger.call("CreateSecret", {"Name": name, "SecretString": "initial"}, caller)
    value = "v" * 64
    started = time.perf_counter()
    for i in range(calls):
        ledger.call("UpdateSecret", {"SecretId": names[i % len(names)], "SecretString": value},
                    caller)
    return calls / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    bare, ledger = [], []
    for _ in range(args.rounds):  # interleaved, so drift in machine load hits both alike
        with tempfile.TemporaryDirectory() as tmp:
            bare.append(bare_rate(Path(tmp), args.calls))
        with tempfile.TemporaryDirectory() as tmp:
            ledger.append(ledger_rate(Path(tmp), args.calls))
    b, l = statistics.median(bare), statistics.median(ledger)
    print(f"bare eventsourcing save   : {b:8.0f} calls/s  (rounds: {', '.join(f'{x:.0f}' for x in bare)})")
    print(f"ledger UpdateSecret       : {l:8.0f} calls/s  (rounds: {', '.join(f'{x:.0f}' for x in ledger)})")
    print(f"ratio ledger / bare       : {l / b:8.2f}  (target >= 0.60)")


if __name__ == "__main__":
    main()
