"""A catch-up killed with SIGKILL resumes from its recorded position: nothing lost, nothing twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from eventsourcing.utils import get_topic

from ledger.calls import ApiCallRecorded
from ledger.events import SECRET_EVENTS
from tests.projections.conftest import make_ledger

ROOT = Path(__file__).resolve().parents[2]


def _write_history(ledger, caller, secrets: int = 60, puts: int = 4) -> None:
    for i in range(secrets):
        name = f"crash/s{i:03d}"
        ledger.call("CreateSecret", {"Name": name, "SecretString": f"crash-initial-{i:04d}"},
                    caller)
        for j in range(puts):
            ledger.call("PutSecretValue", {"SecretId": name, "SecretString": f"crash-{i}-{j}"},
                        caller)
        ledger.call("GetSecretValue", {"SecretId": name}, caller)


def _kill_mid_catch_up(data_dir: Path, view: str, end: int) -> int:
    """Start the slow worker, SIGKILL it once `view` is a third of the way; its last position."""
    child = subprocess.Popen([sys.executable, "-m", "tests.projections.crash_worker",
                              str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    last = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            name, position = line.split()
            if name == view:
                last = int(position)
                if last >= end // 3:
                    os.kill(child.pid, signal.SIGKILL)
                    break
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return last


def test_catch_up_killed_mid_way_resumes_exactly_once(tmp_path, clock, caller):
    ledger = make_ledger(tmp_path / "data", clock)
    _write_history(ledger, caller)
    end = ledger.recorder.max_notification_id()
    read_models = ledger.read_models
    current = read_models.current.name
    assert read_models.store.position(current) == 0  # nothing has read the views yet

    seen = _kill_mid_catch_up(tmp_path / "data", current, end)
    killed_at = read_models.store.position(current)
    assert end // 3 <= seen <= killed_at < end  # committed batches survived, the rest did not

    resumed = make_ledger(tmp_path / "data", clock)
    resumed.read_models.refresh_all()
    assert resumed.read_models.store.position(current) == end

    # Equal to a rebuild from 0, row for row.
    positions_and_digests = resumed.read_models.digests()
    resumed.read_models.rebuild()
    assert resumed.read_models.digests() == positions_and_digests

    # Exactly once: one row per event, counted against the log itself.
    notes = ledger.recorder.select_notifications(0, 10**6, inclusive_of_start=False)
    topics = Counter(note.topic for note in notes)
    secret_events = sum(topics[get_topic(cls)] for cls in SECRET_EVENTS)
    store = resumed.read_models.store
    assert store.query("SELECT COUNT(*) FROM cs_secret_events") == [(secret_events,)]
    audit_rows = topics[get_topic(ApiCallRecorded)]
    assert store.query("SELECT COUNT(*) FROM audit_events") == [(audit_rows,)]
    assert store.query("SELECT COUNT(*) FROM cs_secrets") == [(60,)]
