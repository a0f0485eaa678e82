"""SIGKILL the server at random moments under a steady boto3 write load, restart it each time on
the same data directory, then check the directory: no acknowledged write lost, no write half
there (a version without its data key or the reverse), read models caught up exactly once,
`verify` passes.

A fifth of the kills land during start-up (possibly before the port is open). Each cycle also
kills an `audit lookup` process that is catching the audit view up on the same file, and the
server writes a signed digest every second, so kills also hit catch-up and digest writes.
"""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.crash_checks import PROJECT, check_data_dir
from tests.reliability.write_load import WriteLoad
from tests.server.conftest import ROOT_ENV, ServerProcess, make_client

KILLS = 20
SLOW_KILLS = 120
EARLY_EVERY = 5  # every fifth kill lands during start-up


@dataclass
class KillCounts:
    while_serving: int = 0
    during_start: int = 0

    @property
    def total(self) -> int:
        return self.while_serving + self.during_start


def _kill(process: subprocess.Popen, what: str, stderr: str = "") -> None:
    assert process.poll() is None, f"{what} exited by itself ({process.returncode}):\n{stderr}"
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def _auditor(server: ServerProcess) -> subprocess.Popen:
    """A second process catching the audit view up on the same file."""
    command = [sys.executable, "-m", "tools.cli", "audit", "lookup", "--max-results", "1",
               "--data-dir", str(server.data_dir)]
    return subprocess.Popen(command, cwd=PROJECT, env=server.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def kill_repeatedly(server: ServerProcess, kills: int, rng: random.Random) -> KillCounts:
    counts = KillCounts()
    for cycle in range(kills):
        if cycle % EARLY_EVERY == EARLY_EVERY - 1:
            server.spawn()
            time.sleep(rng.uniform(0.0, 1.0))
            _kill(server.process, "the starting server", server.stderr())
            counts.during_start += 1
            continue
        server.start()
        auditor = _auditor(server)
        time.sleep(rng.uniform(0.15, 1.2))
        _kill(server.process, "the server", server.stderr())
        if auditor.poll() is None:
            _kill(auditor, "the auditor")
        counts.while_serving += 1
    return counts


def run_crash_test(tmp_path: Path, kills: int, seed: int) -> None:
    server = ServerProcess(tmp_path / "data", {**ROOT_ENV, "LEDGER_DIGEST_INTERVAL": "1"})
    server.start()  # the first start creates the root principal; the load needs it
    load = WriteLoad(lambda: make_client(server.url))
    load.start()
    try:
        time.sleep(0.5)
        _kill(server.process, "the server", server.stderr())
        counts = kill_repeatedly(server, kills - 1, random.Random(seed))
        counts.while_serving += 1
        server.start()  # and once more: it must come up cleanly after the last kill
        acknowledged_before = len(load.tally.acknowledged)
        time.sleep(0.5)
        assert len(load.tally.acknowledged) > acknowledged_before, "no writes after restart"
    finally:
        load.stop()
        assert server.stop() == 0

    tally = load.tally
    codes = {code for _, code in tally.refused}
    assert not codes, f"writes refused with {codes}"
    assert counts.total >= kills
    assert len(tally.acknowledged) >= 20 * kills, "too little load to mean anything"
    assert tally.unanswered, "no kill ever caught a request in flight"

    found = check_data_dir(server.data_dir, tally)
    print(f"\ncrash safety: {counts.total} kills ({counts.while_serving} while serving, "
          f"{counts.during_start} during start-up); {found.acknowledged} acknowledged writes, "
          f"{len(tally.unanswered)} unanswered ({found.unanswered_committed} committed, "
          f"{found.unanswered_absent} absent, none partial); {found.versions} versions; "
          f"{tally.reads} reads; {found.events} events; verify OK")


def test_acknowledged_writes_survive_sigkill_and_nothing_is_half_written(tmp_path):
    run_crash_test(tmp_path, KILLS, seed=20)


@pytest.mark.slow
def test_acknowledged_writes_survive_many_more_kills(tmp_path):
    run_crash_test(tmp_path, SLOW_KILLS, seed=120)
