"""Finishing erasures a crash interrupted, from the log.

A deletion commits its events first and erases its key record files after (`ledger.storage`);
a crash between the two leaves a file for a secret or KMS key the log says is gone. Each open
of the ledger and each upkeep run erases those, and the records of writes that never committed
(an attempt that lost a race or crashed) once they are an hour old.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.utils import get_topic

from ledger.events import SecretDeleted
from ledger.keys.key_files import KeyFiles
from ledger.keys.kms_key import DELETED, KmsKey

DESTROYED, NEVER_USED, LIVE = "destroyed", "never used", "live"
ORPHAN_AGE = 3600  # seconds: no write takes this long between its record and its commit

LoadKey = Callable[[str], KmsKey | None]


def finish(recorder: ApplicationRecorder, files: KeyFiles, load_key: LoadKey) -> list[str]:
    """Erase every record the log says is destroyed (and old orphans); returns their names."""
    erased = []
    for name in files.names():
        state = _state(recorder, name, load_key)
        if state == DESTROYED or (state == NEVER_USED and _age(files, name) > ORPHAN_AGE):
            if files.erase(name):
                erased.append(name)
    return erased


def pending(recorder: ApplicationRecorder, files: KeyFiles, load_key: LoadKey) -> list[str]:
    """Records the log says are destroyed but whose files are still there."""
    return [name for name in files.names() if _state(recorder, name, load_key) == DESTROYED]


def _state(recorder: ApplicationRecorder, name: str, load_key: LoadKey) -> str:
    kind, ident = name.split(":", 1)
    if kind == "secret":
        last = recorder.select_events(UUID(hex=ident), desc=True, limit=1)
        if not last:
            return NEVER_USED
        return DESTROYED if last[0].topic == get_topic(SecretDeleted) else LIVE
    key = load_key(ident)
    if key is None:
        return NEVER_USED
    return DESTROYED if key.state == DELETED else LIVE


def _age(files: KeyFiles, name: str) -> float:
    try:
        return time.time() - os.stat(files.path(name)).st_mtime
    except FileNotFoundError:
        return 0.0
