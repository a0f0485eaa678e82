"""UpdateSecret calls/s through the library on an SQLite file, next to a bare eventsourcing save.

Both run in the same process, on the same disk, in the same run, so the ratio is meaningful on a
noisy machine. The baseline saves one event per call on a minimal aggregate with the default
settings, with the aggregate kept in memory (no read); the ledger does everything a real call
does: validation, a fresh data key, AES-GCM, label moves, the hash chain, the audit record and
the key store row, in one durable transaction. Then, to show what the ratio is made of, both are
measured once more with fsync turned off (their CPU and SQL cost alone), and the WAL pages each
call's commit writes are counted. Never prints a secret value.

    python -m tools.bench_update [--calls 2000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.sqlite import SQLiteConnectionPool

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.secret import Limits
from ledger.sqlite_pool import StatementCachingPool

WAL_SAMPLE = 50  # calls whose WAL pages are counted: well under one autocheckpoint's worth


class Counter(Aggregate):
    @event("Created")
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self, by: int) -> None:
        self.count += by


def bare_workload(directory: Path) -> tuple[Path, Callable[[int], None]]:
    """The database file and one call of the baseline: one event saved."""
    db = directory / "bare.db"
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)})
    counter = Counter()
    app.save(counter)

    def call(i: int) -> None:
        counter.increment(1)
        app.save(counter)
    return db, call


def ledger_workload(directory: Path, calls: int) -> tuple[Path, Callable[[int], None]]:
    """The database file and one UpdateSecret with a new value."""
    ledger = SecretsLedger(LedgerConfig(data_dir=directory / "ledger", limits=Limits()))
    caller = Caller.system()
    # Spread over enough secrets to stay under the 100-versions-per-day quota.
    names = [f"bench/db-{i}" for i in range(calls // 80 + 1)]
    for name in names:
        ledger.call("CreateSecret", {"Name": name, "SecretString": "initial"}, caller)
    value = "v" * 64

    def call(i: int) -> None:
        ledger.call("UpdateSecret", {"SecretId": names[i % len(names)], "SecretString": value},
                    caller)
    assert ledger.config.db_path is not None
    return ledger.config.db_path, call


def rate(call: Callable[[int], None], calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        call(i)
    return calls / (time.perf_counter() - started)


def bare_rate(directory: Path, calls: int) -> float:
    return rate(bare_workload(directory)[1], calls)


def ledger_rate(directory: Path, calls: int) -> float:
    return rate(ledger_workload(directory, calls)[1], calls)


def wal_pages_per_call(db: Path, call: Callable[[int], None], calls: int) -> float:
    """Pages each call's commit appends to the WAL, after `calls` calls to warm up."""
    for i in range(calls):
        call(i)
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for i in range(WAL_SAMPLE):
        call(calls + i)
    wal = db.with_name(db.name + "-wal").read_bytes()
    page_size = struct.unpack(">I", wal[8:12])[0]
    return (len(wal) - 32) / (24 + page_size) / WAL_SAMPLE


@contextmanager
def fsync_off() -> Iterator[None]:
    """New SQLite connections with `synchronous=OFF`: commits no longer wait for the disk."""
    patched = {pool: pool.__dict__["_create_connection"]
               for pool in (SQLiteConnectionPool, StatementCachingPool)}

    def without_fsync(create: Callable) -> Callable:
        def create_connection(self):  # type: ignore[no-untyped-def]
            connection = create(self)
            connection._sqlite_conn.execute("PRAGMA synchronous=OFF")
            return connection
        return create_connection

    for pool, create in patched.items():
        pool._create_connection = without_fsync(create)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for pool, create in patched.items():
            pool._create_connection = create  # type: ignore[method-assign]


def interleaved(rounds: int, calls: int) -> tuple[list[float], list[float]]:
    """Bare and ledger rates, alternating, so drift in machine load hits both alike."""
    bare, ledger = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            bare.append(bare_rate(Path(tmp), calls))
        with tempfile.TemporaryDirectory() as tmp:
            ledger.append(ledger_rate(Path(tmp), calls))
    return bare, ledger


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    bare, ledger = interleaved(args.rounds, args.calls)
    b, l = statistics.median(bare), statistics.median(ledger)
    print(f"bare eventsourcing save   : {b:8.0f} calls/s  (rounds: {_list(bare)})")
    print(f"ledger UpdateSecret       : {l:8.0f} calls/s  (rounds: {_list(ledger)})")
    print(f"ratio ledger / bare       : {l / b:8.2f}  (target >= 0.60)")
    with fsync_off():
        bare_off, ledger_off = interleaved(args.rounds, args.calls)
    print(f"per call, fsync off       : bare {1e6 / statistics.median(bare_off):.0f} us, "
          f"ledger {1e6 / statistics.median(ledger_off):.0f} us  (CPU and SQL alone)")
    print(f"per call, durable         : bare {1e6 / b:.0f} us, ledger {1e6 / l:.0f} us")
    with tempfile.TemporaryDirectory() as tmp:
        bare_pages = wal_pages_per_call(*bare_workload(Path(tmp)), args.calls // 4)
        ledger_pages = wal_pages_per_call(*ledger_workload(Path(tmp), args.calls),
                                          args.calls // 4)
    print(f"WAL pages per commit      : bare {bare_pages:.1f}, ledger {ledger_pages:.1f}")


def _list(rates: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in rates)


if __name__ == "__main__":
    main()
