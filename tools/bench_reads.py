"""GetSecretValue calls/s from 8 threads on an SQLite file, with and without group commit.

A read is answered only once its audit record is durable, so each read costs a commit. Group
commit lets concurrent reads share one. Both modes run in the same process, on the same ledger
file, alternating rounds, so the ratio holds on a noisy machine. Never prints a secret value.

    python -m tools.bench_reads [--threads 8] [--seconds 3] [--rounds 3] [--dir DIR]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.group_commit import GroupCommit

SECRETS = 16


def run_round(ledger: SecretsLedger, names: list[str], threads: int, seconds: float) -> float:
    caller = Caller.system(ledger.config.account_id)
    deadline = time.perf_counter() + seconds
    counts = [0] * threads
    start = threading.Barrier(threads + 1)

    def reader(index: int) -> None:
        start.wait()
        i = index
        while time.perf_counter() < deadline:
            ledger.call("GetSecretValue", {"SecretId": names[i % len(names)]}, caller)
            counts[index] += 1
            i += 1

    workers = [threading.Thread(target=reader, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the ledger file goes (default: a temporary directory)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        ledger = SecretsLedger(LedgerConfig(data_dir=Path(tmp) / "ledger"))
        caller = Caller.system(ledger.config.account_id)
        names = [f"bench/read-{i}" for i in range(SECRETS)]
        for name in names:
            ledger.call("CreateSecret", {"Name": name, "SecretString": "x" * 32}, caller)
            ledger.call("GetSecretValue", {"SecretId": name}, caller)  # today's access noted
        grouped = ledger.group_commit or GroupCommit(ledger.recorder)
        rates: dict[str, list[float]] = {"without": [], "with": []}
        batches = saves = 0
        for _ in range(args.rounds):
            ledger.group_commit = None
            rates["without"].append(run_round(ledger, names, args.threads, args.seconds))
            ledger.group_commit = grouped
            before = (grouped.batches, grouped.saves)
            rates["with"].append(run_round(ledger, names, args.threads, args.seconds))
            batches += grouped.batches - before[0]
            saves += grouped.saves - before[1]
        without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
        print(f"GetSecretValue, {args.threads} threads, SQLite file, median of {args.rounds} "
              f"rounds of {args.seconds:g}s")
        print(f"  without group commit: {without:8.0f} calls/s  "
              f"(rounds: {', '.join(f'{r:.0f}' for r in rates['without'])})")
        print(f"  with group commit:    {with_:8.0f} calls/s  "
              f"(rounds: {', '.join(f'{r:.0f}' for r in rates['with'])})")
        print(f"  ratio with/without:   {with_ / without:8.2f}")
        if batches:
            print(f"  records per commit with group commit: {saves / batches:.1f} on average")


if __name__ == "__main__":
    main()
