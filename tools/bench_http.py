"""boto3 calls/s against this server and against moto_server, started side by side in one run.

Both servers run as subprocesses on loopback and take the same workload from unmodified boto3
clients (one client per thread): UpdateSecret with a new value, then GetSecretValue, with 1 and
with 4 client threads. Every call to the ledger is authenticated, durable (SQLite commit) and
audited; moto keeps everything in memory. Prints calls/s for each and the ledger/moto ratio.
Never prints a secret value. moto is a test/bench dependency only.

    python -m tools.bench_http [--calls 1000] [--threads 1 4] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

KEY_ID, SECRET = "AKIABENCHROOT0000001", "bench-root-secret-access-key-000000000000"
REGION = "us-west-2"
VERSIONS_PER_SECRET = 80  # below the ledger's 100-versions quota for fresh versions
PROJECT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start listening")


@contextmanager
def running_server(command: list[str], port: int, env: dict[str, str],
                   timeout: float = 60) -> Iterator[subprocess.Popen]:
    """A server process listening on `port`, terminated (then killed) on exit."""
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, process, timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def ledger_server(directory: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "LEDGER_ROOT_ACCESS_KEY_ID": KEY_ID,
           "LEDGER_ROOT_SECRET_ACCESS_KEY": SECRET}
    command = [sys.executable, "-m", "tools.cli", "serve", "--port", str(port),
               "--data-dir", str(directory / "ledger")]
    with running_server(command, port, env):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def moto_server() -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running_server(command, port, dict(os.environ)):
        yield f"http://127.0.0.1:{port}"


def client(url: str) -> Any:
    return boto3.session.Session().client(
        "secretsmanager", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=4))


def _run_threads(threads: int, work: Callable[[int], None]) -> float:
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} client threads failed: {type(errors[0]).__name__}")
    return elapsed


def measure(url: str, operation: str, calls: int, threads: int, tag: str) -> float:
    """Calls/s of `operation` from `threads` clients, `calls` in all."""
    per_thread = calls // threads
    clients = [client(url) for _ in range(threads)]
    names = [[f"bench/{tag}/{t}/{i}" for i in range(per_thread // VERSIONS_PER_SECRET + 1)]
             for t in range(threads)]
    for t, thread_names in enumerate(names):
        for name in thread_names:
            clients[t].create_secret(Name=name, SecretString="initial-value")
    value = "v" * 64

    def work(index: int) -> None:
        mine, own = names[index], clients[index]
        for i in range(per_thread):
            name = mine[i // VERSIONS_PER_SECRET] if operation == "UpdateSecret" else mine[0]
            if operation == "UpdateSecret":
                own.update_secret(SecretId=name, SecretString=value)
            else:
                own.get_secret_value(SecretId=name)

    return per_thread * threads / _run_threads(threads, work)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, ledger_server(Path(tmp)) as ledger_url, \
            moto_server() as moto_url:
        print(f"{'operation':<16}{'threads':>8}{'ledger/s':>12}{'moto/s':>12}{'ratio':>8}")
        for operation in ("UpdateSecret", "GetSecretValue"):
            for threads in args.threads:
                rates: dict[str, list[float]] = {"ledger": [], "moto": []}
                for round_ in range(args.rounds):
                    for label, url in (("ledger", ledger_url), ("moto", moto_url)):
                        tag = f"{operation}-{threads}-{round_}"
                        rates[label].append(measure(url, operation, args.calls, threads, tag))
                ours, theirs = (statistics.median(rates[k]) for k in ("ledger", "moto"))
                print(f"{operation:<16}{threads:>8}{ours:>12.0f}{theirs:>12.0f}"
                      f"{ours / theirs:>8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
