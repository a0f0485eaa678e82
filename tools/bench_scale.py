"""UpdateSecret calls/s with 1, 2 and 4 server processes on PostgreSQL, next to 1 on SQLite.

Every configuration runs in the same invocation against fresh storage (a new PostgreSQL schema,
a new SQLite directory) and takes the same workload: `--clients` client threads, spread
round-robin over the servers, each sending signed UpdateSecret calls with a new value to random
ones of `--secrets` secrets until `--calls` calls are done (few secrets: writers collide on them
and retry). The client is deliberately thin (http.client with keep-alive and botocore's SigV4
signer) so that it takes as little CPU from the servers as possible: everything runs on this
machine. Prints calls/s per configuration, the ratios to 1 PostgreSQL process and to 1 SQLite
process, and the CPU time each call cost in the servers, in PostgreSQL and in the client.
Never prints a secret value.

Needs the POSTGRES_* settings (`eval "$(bash tools/pg_throwaway.sh start)"` as root).

    python -m tools.bench_scale [--calls 1200] [--clients 8] [--secrets 100]
                                [--processes 1 2 4] [--rounds 1]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ledger.pg_settings import configured
from tools.bench_http import KEY_ID, REGION, SECRET, _free_port, running_server

CALLS_PER_SECRET = 60  # below the 100-versions quota for versions younger than a day


class SignedClient:
    """One keep-alive HTTP connection sending SigV4-signed Secrets Manager calls."""

    def __init__(self, url: str) -> None:
        self.url = url
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)
        self.signer = SigV4Auth(Credentials(KEY_ID, SECRET), "secretsmanager", REGION)

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(request).encode()
        signed = AWSRequest(method="POST", url=self.url + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"secretsmanager.{operation}"})
        self.signer.add_auth(signed)
        self.connection.request("POST", "/", body=body, headers=dict(signed.headers))
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 200:
            error = json.loads(payload).get("__type", "?") if payload else "?"
            raise RuntimeError(f"{operation} failed: HTTP {response.status} {error}")
        return json.loads(payload)

    def close(self) -> None:
        self.connection.close()


@contextmanager
def server(data_dir: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = _free_port()
    command = [sys.executable, "-m", "tools.cli", "serve", "--port", str(port), "--data-dir",
               str(data_dir), "--log-level", "warning", "--purge-interval", "0"]
    with running_server(command, port, env, timeout=120) as process:
        yield f"http://127.0.0.1:{port}", process.pid


@contextmanager
def servers(store: str, count: int, directory: Path) -> Iterator[list[tuple[str, int]]]:
    """`count` servers on one store: a fresh PostgreSQL schema, or one SQLite directory."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "LEDGER_ROOT_ACCESS_KEY_ID": KEY_ID,
           "LEDGER_ROOT_SECRET_ACCESS_KEY": SECRET, "LEDGER_STORE": store,
           "POSTGRES_SCHEMA": schema}
    data_dir = directory / f"{store}-{count}-{schema}"
    try:
        with ExitStack() as stack:
            started = [stack.enter_context(server(data_dir, env))]  # creates the tables
            started += [stack.enter_context(server(data_dir, env)) for _ in range(count - 1)]
            yield started
    finally:
        if store == "postgres":
            _drop_schema(schema)


def _connect() -> Any:
    import psycopg
    return psycopg.connect(dbname=os.environ["POSTGRES_DBNAME"], host=os.environ["POSTGRES_HOST"],
                           port=os.environ.get("POSTGRES_PORT", "5432"),
                           user=os.environ["POSTGRES_USER"],
                           password=os.environ["POSTGRES_PASSWORD"], autocommit=True)


def _drop_schema(schema: str) -> None:
    with _connect() as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _postgres_backends() -> list[int]:
    """The PostgreSQL server processes serving this database right now."""
    with _connect() as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = "
                                  "current_database() AND pid <> pg_backend_pid()").fetchall()
    return [row[0] for row in rows]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (all their threads) so far; gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Result:
    rate: float  # calls/s
    server_cpu_ms: float  # per call
    postgres_cpu_ms: float
    client_cpu_ms: float


def measure(started: list[tuple[str, int]], store: str, calls: int, clients: int,
            secrets: int) -> Result:
    """UpdateSecret calls/s over all servers, `clients` threads round-robin over them."""
    urls, pids = [url for url, _ in started], [pid for _, pid in started]
    names = [f"bench/scale-{i:03d}" for i in range(max(secrets, -(-calls // CALLS_PER_SECRET)))]
    setup = SignedClient(urls[0])
    for name in names:
        setup.call("CreateSecret", {"Name": name, "SecretString": "initial",
                                    "ClientRequestToken": str(uuid.uuid4())})
    setup.close()
    for url in urls:  # warm each server's pools and caches
        warm = SignedClient(url)
        for name in names:
            warm.call("DescribeSecret", {"SecretId": name})
        warm.close()
    remaining, lock, failures = [calls], threading.Lock(), []

    def body(index: int) -> None:
        rng, client = random.Random(index), SignedClient(urls[index % len(urls)])
        try:
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                client.call("UpdateSecret", {"SecretId": rng.choice(names),
                                             "SecretString": uuid.uuid4().hex,
                                             "ClientRequestToken": str(uuid.uuid4())})
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(str(error))
        finally:
            client.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(clients)]
    backends = _postgres_backends() if store == "postgres" else []
    before = (_cpu_seconds(pids), _cpu_seconds(backends), _own_cpu_seconds())
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    after = (_cpu_seconds(pids), _cpu_seconds(backends), _own_cpu_seconds())
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed, first: {failures[0]}")
    per_call = [1000 * (b - a) / calls for a, b in zip(before, after)]
    return Result(calls / elapsed, *per_call)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--secrets", type=int, default=100,
                        help="secrets the calls spread over (fewer: more write conflicts)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=1, help="runs per configuration (median)")
    args = parser.parse_args(argv)
    if not configured():
        print("bench_scale needs PostgreSQL: set POSTGRES_* or LEDGER_DATABASE_URL "
              "(eval \"$(bash tools/pg_throwaway.sh start)\")", file=sys.stderr)
        return 2
    configurations = [("sqlite", 1)] + [("postgres", n) for n in args.processes]
    results: dict[tuple[str, int], list[Result]] = {c: [] for c in configurations}
    directory = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        for _ in range(args.rounds):
            for store, count in configurations:
                with servers(store, count, directory) as started:
                    result = measure(started, store, args.calls, args.clients, args.secrets)
                results[(store, count)].append(result)
                print(f"  {store:8} x{count}: {result.rate:7.1f} calls/s", file=sys.stderr,
                      flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    median = {config: statistics.median(r.rate for r in runs) for config, runs in results.items()}
    sqlite_one = median[("sqlite", 1)]
    pg_one = median.get(("postgres", 1)) or median[("postgres", args.processes[0])]
    print(f"UpdateSecret, {args.calls} calls over {args.secrets} secrets, {args.clients} client "
          f"threads, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, median of "
          f"{args.rounds}; CPU ms per call (means)")
    print(f"{'store':10} {'processes':>9} {'calls/s':>9} {'vs PG x1':>9} {'vs SQLite x1':>13} "
          f"{'servers':>8} {'postgres':>9} {'client':>7}")
    for (store, count), rate in median.items():
        runs = results[(store, count)]
        cpu = [statistics.mean(getattr(r, f) for r in runs)
               for f in ("server_cpu_ms", "postgres_cpu_ms", "client_cpu_ms")]
        print(f"{store:10} {count:>9} {rate:>9.1f} {rate / pg_one:>9.2f} "
              f"{rate / sqlite_one:>13.2f} {cpu[0]:>8.2f} {cpu[1]:>9.2f} {cpu[2]:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
