"""The log and key store as they are on disk, read with plain sqlite3 (no ledger code)."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from eventsourcing.utils import get_topic

from ledger.calls import ApiCallRecorded

AUDIT_TOPIC = get_topic(ApiCallRecorded)


def _connect(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data_dir / 'ledger.db'}?mode=ro", uri=True)


def business_digest(data_dir: Path) -> tuple[int, str]:
    """Count and SHA-256 of every event that is not an audit record, in log order.

    Hostile requests may add failed-call audit records and nothing else, so this digest must
    not move while they are served.
    """
    digest, count = hashlib.sha256(), 0
    with _connect(data_dir) as db:
        rows = db.execute("SELECT originator_id, originator_version, topic, state "
                          "FROM stored_events WHERE topic != ? ORDER BY rowid", (AUDIT_TOPIC,))
        for originator, version, topic, state in rows:
            for part in (str(originator), str(version), topic):
                digest.update(part.encode() + b"\0")
            digest.update(bytes(state) + b"\n")
            count += 1
    return count, digest.hexdigest()


def max_position(data_dir: Path) -> int:
    with _connect(data_dir) as db:
        return db.execute("SELECT COALESCE(MAX(rowid), 0) FROM stored_events").fetchone()[0]


def data_key_rows(data_dir: Path) -> set[tuple[str, str]]:
    """(secret id hex, version id) of every wrapped data key in the key store."""
    with _connect(data_dir) as db:
        return {(s, v) for s, v in db.execute("SELECT secret_id, version_id FROM data_keys")}
