"""SIGKILL the server at random moments under a steady boto3 write load, restart it each time on
the same data directory, then check the directory: no acknowledged write lost, no write half
there (a version without its data key or the reverse), read models caught up exactly once,
`verify` passes.

A fifth of the kills land during start-up (possibly before the port is open). Each cycle also
kills an `audit lookup` process that is catching the audit view up on the same file, and the
server writes a signed digest every second, so kills also hit catch-up and digest writes.
Each kill while serving waits for 25 acknowledged writes since the restart, then a random
delay, so every one lands under load, and the run carries at least 20 writes per kill, however
slow the machine is.
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

KILLS = 24
SLOW_KILLS = 120
EARLY_EVERY = 5  # every fifth kill lands during start-up
LOAD_PER_KILL = 20  # acknowledged writes per kill, over the whole run, for the test to mean much
# Writes awaited after each restart before the kill: with a fifth of the kills during start-up
# (no writes), 25 per serving cycle keeps the run above LOAD_PER_KILL however slow the machine.
WRITES_BEFORE_KILL = 25


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


@dataclass
class Auditor:
    """A second process catching the audit view up on the same file; it may finish before
    the kill, but only successfully."""

    process: subprocess.Popen
    stderr_path: Path

    @classmethod
    def start(cls, server: ServerProcess, stderr_path: Path) -> "Auditor":
        command = [sys.executable, "-m", "tools.cli", "audit", "lookup", "--max-results", "1",
                   "--data-dir", str(server.data_dir)]
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(command, cwd=PROJECT, env=server.env,
                                       stdout=subprocess.DEVNULL, stderr=stderr,
                                       stdin=subprocess.DEVNULL)
        return cls(process, stderr_path)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        status = self.process.wait(timeout=30)
        assert status in (0, -signal.SIGKILL), (
            f"the auditor failed ({status}):\n{self.stderr_path.read_text()}")


def kill_repeatedly(server: ServerProcess, load: WriteLoad, kills: int,
                    rng: random.Random) -> KillCounts:
    counts = KillCounts()
    for cycle in range(kills):
        if cycle % EARLY_EVERY == EARLY_EVERY - 1:
            server.spawn()
            time.sleep(rng.uniform(0.0, 1.0))
            _kill(server.process, "the starting server", server.stderr())
            counts.during_start += 1
            continue
        server.start()
        auditor = None
        if cycle % 2:
            auditor = Auditor.start(server, server.data_dir.parent / "auditor.err")
        _wait_for_writes(load, WRITES_BEFORE_KILL)  # the kill lands under load
        time.sleep(rng.uniform(0.0, 0.8))
        _kill(server.process, "the server", server.stderr())
        if auditor is not None:
            auditor.kill()
        counts.while_serving += 1
    return counts


def _wait_for_writes(load: WriteLoad, count: int, timeout: float = 30) -> None:
    target = len(load.tally.acknowledged) + count
    deadline = time.monotonic() + timeout
    while len(load.tally.acknowledged) < target:
        assert time.monotonic() < deadline, "the restarted server acknowledged no writes"
        time.sleep(0.01)


def run_crash_test(tmp_path: Path, kills: int, seed: int) -> None:
    server = ServerProcess(tmp_path / "data", {**ROOT_ENV, "LEDGER_DIGEST_INTERVAL": "1"})
    server.start()  # the first start creates the root principal; the load needs it
    # No retries: botocore's `max_attempts` counts retries, and a retry of a write the dead
    # server had committed would hide which attempt reached it.
    load = WriteLoad(lambda: make_client(server.url, retries=0))
    load.start()
    try:
        _wait_for_writes(load, 20)
        _kill(server.process, "the server", server.stderr())
        counts = kill_repeatedly(server, load, kills - 1, random.Random(seed))
        counts.while_serving += 1
        server.start()  # and once more: it must come up cleanly after the last kill
        _wait_for_writes(load, 10)
    finally:
        try:
            load.stop()
        finally:
            assert server.stop() == 0

    tally = load.tally
    codes = {code for _, code in tally.refused}
    assert not codes, f"writes refused with {codes}"
    assert counts.total >= kills
    assert len(tally.acknowledged) >= LOAD_PER_KILL * kills, (
        f"too little load to mean anything: {len(tally.acknowledged)} acknowledged, "
        f"{len(tally.unanswered)} unanswered, {len(tally.unsent)} unsent")
    assert tally.unanswered, "no kill ever caught a request in flight"

    found = check_data_dir(server.data_dir, tally)
    print(f"\ncrash safety: {counts.total} kills ({counts.while_serving} while serving, "
          f"{counts.during_start} during start-up); {found.acknowledged} acknowledged writes, "
          f"{len(tally.unanswered)} unanswered ({found.unanswered_committed} committed, "
          f"{found.unanswered_absent} absent, none partial), {len(tally.cut_short)} answered 200 "
          f"with the body cut off (present), {len(tally.unsent)} refused "
          f"connections while down; {found.versions} versions; "
          f"{tally.reads} reads; {found.events} events; verify OK")


def test_acknowledged_writes_survive_sigkill_and_nothing_is_half_written(tmp_path):
    run_crash_test(tmp_path, KILLS, seed=20)


@pytest.mark.slow
def test_acknowledged_writes_survive_many_more_kills(tmp_path):
    run_crash_test(tmp_path, SLOW_KILLS, seed=120)
