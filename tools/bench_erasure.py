"""API latency while shreds happen, with and without an outside process holding a read snapshot.

A ledger server runs as a subprocess; boto3 clients (one per thread) make a steady mix of
calls for `--seconds`: GetSecretValue, DescribeSecret, PutSecretValue, and CreateSecret then
DeleteSecret --force-delete-without-recovery (each of those a shred). First with no other
process on the files (the baseline), then while another process holds a read transaction on
ledger.db for the whole phase (40 s by default), in the same run. Prints p50/p99/max latency
of each phase and how many shreds it made. Never prints a secret value.

    python -m tools.bench_erasure [--seconds 40] [--threads 4]
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.bench_http import client, ledger_server

SECRETS = 20


@contextmanager
def outside_reader(db: Path) -> Iterator[None]:
    """This process (not the server) holding a read transaction on the server's database."""
    connection = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN")
    connection.execute("SELECT COUNT(*) FROM data_keys").fetchone()
    try:
        yield
    finally:
        connection.execute("COMMIT")
        connection.close()


def phase(url: str, seconds: float, threads: int, tag: str) -> tuple[list[float], int]:
    """Latencies (ms) of every call made by `threads` clients for `seconds`; shreds made."""
    latencies: list[float] = []
    shreds = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def work(index: int) -> None:
        api, n, mine = client(url), 0, []
        while time.monotonic() < stop:
            name = f"bench/{index}-{n % SECRETS}"
            calls: list[tuple[str, dict[str, Any]]] = [
                ("get_secret_value", {"SecretId": name}),
                ("describe_secret", {"SecretId": name}),
                ("put_secret_value", {"SecretId": name, "SecretString": f"v-{n}"}),
                ("create_secret", {"Name": f"{tag}/gone-{index}-{n}", "SecretString": "x"}),
                ("delete_secret", {"SecretId": f"{tag}/gone-{index}-{n}",
                                   "ForceDeleteWithoutRecovery": True})]
            for operation, request in calls:
                started = time.perf_counter()
                getattr(api, operation)(**request)
                mine.append((time.perf_counter() - started) * 1000)
            n += 1
        with lock:
            latencies.extend(mine)
            shreds[0] += n

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, shreds[0]


def report(label: str, latencies: list[float], shreds: int) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{label:<34} calls {len(ordered):>6}  shreds {shreds:>5}  "
            f"p50 {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms  "
            f"max {ordered[-1]:7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0,
                        help="length of each phase; the reader holds its snapshot this long")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch, ledger_server(Path(scratch)) as url:
        setup = client(url)
        for index in range(args.threads):
            for n in range(SECRETS):
                setup.create_secret(Name=f"bench/{index}-{n}", SecretString="v-0")
        baseline = phase(url, args.seconds, args.threads, "baseline")
        with outside_reader(Path(scratch) / "ledger" / "ledger.db"):
            held = phase(url, args.seconds, args.threads, "reader")
    print(report("baseline (no outside reader)", *baseline))
    print(report(f"outside reader holding {args.seconds:g} s", *held))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
