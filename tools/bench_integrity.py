"""What tamper evidence costs: UpdateSecret calls/s with and without the hash chain, next to a
bare eventsourcing save, and `verify` events/s next to a raw read of the same log, all in the
same run. Never prints a secret value.

    python -m tools.bench_integrity [--calls 2000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import ledger.storage
from ledger.integrity.store import SQLiteIntegrityStore
from ledger.integrity.verify import verify
from tools.bench_update import bare_rate, ledger_rate


@contextmanager
def chain_off() -> Iterator[None]:
    original = ledger.storage.record_sqlite
    ledger.storage.record_sqlite = lambda *args: None
    try:
        yield
    finally:
        ledger.storage.record_sqlite = original


@contextmanager
def chain_timed(spent: list[float]) -> Iterator[None]:
    """Adds the seconds spent hashing and recording the chain, one entry per save."""
    original = ledger.storage.record_sqlite

    def timed(*args: object) -> None:
        started = time.perf_counter()
        original(*args)
        spent.append(time.perf_counter() - started)

    ledger.storage.record_sqlite = timed
    try:
        yield
    finally:
        ledger.storage.record_sqlite = original


def read_rates(directory: Path) -> tuple[int, float, float]:
    """(events, raw read events/s, verify events/s) over the log `ledger_rate` left behind."""
    from ledger.application import SecretsLedger
    from ledger.config import LedgerConfig
    app = SecretsLedger(LedgerConfig(data_dir=directory / "ledger", digest_interval=None))
    app.write_digest()
    started, count, start = time.perf_counter(), 0, 0
    while True:
        notes = app.recorder.select_notifications(start=start, limit=2000, inclusive_of_start=False)
        if not notes:
            break
        count += len(notes)
        start = notes[-1].id
    raw = count / (time.perf_counter() - started)
    store = SQLiteIntegrityStore.open_file(directory / "ledger" / "ledger.db")
    started = time.perf_counter()
    report = verify(store, app.integrity.signer.public_key, key_source="bench")
    checked = time.perf_counter() - started
    assert report.ok
    return count, raw, count / checked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    bare, chained, unchained, raw, checked, events = [], [], [], [], [], 0
    spent: list[float] = []
    for _ in range(args.rounds):  # interleaved, so drift in machine load hits all alike
        with tempfile.TemporaryDirectory() as tmp:
            bare.append(bare_rate(Path(tmp), args.calls))
        with tempfile.TemporaryDirectory() as tmp, chain_off():
            unchained.append(ledger_rate(Path(tmp), args.calls))
        with tempfile.TemporaryDirectory() as tmp:
            with chain_timed(spent):
                chained.append(ledger_rate(Path(tmp), args.calls))
            events, read, ver = read_rates(Path(tmp))
            raw.append(read)
            checked.append(ver)

    def line(label: str, rates: list[float], unit: str) -> str:
        rounds = ", ".join(f"{x:.0f}" for x in rates)
        return f"{label:34}: {statistics.median(rates):9.0f} {unit}  (rounds: {rounds})"

    print(line("bare eventsourcing save", bare, "calls/s"))
    print(line("ledger UpdateSecret, no hash chain", unchained, "calls/s"))
    print(line("ledger UpdateSecret, hash chain", chained, "calls/s"))
    b, u, c = (statistics.median(x) for x in (bare, unchained, chained))
    print(f"{'chain / no chain':34}: {c / u:9.2f}")
    print(f"{'ledger with chain / bare':34}: {c / b:9.2f}  (target >= 0.60)")
    print(f"{'chain work inside each save':34}: {statistics.mean(spent) * 1e6:9.0f} us mean, "
          f"{statistics.quantiles(spent, n=100)[98] * 1e6:.0f} us p99 ({len(spent)} saves)")
    print(line(f"raw log read ({events} events)", raw, "events/s"))
    print(line("verify (chain + Merkle + digest)", checked, "events/s"))


if __name__ == "__main__":
    main()
