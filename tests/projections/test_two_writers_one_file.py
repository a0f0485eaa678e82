"""Two connections writing one SQLite file, as a server and an `audit` command catching views
up at once: a write transaction that reads first must wait for the other writer, not fail
with "database is locked" because its read snapshot went stale."""
from __future__ import annotations

import threading

from projections.store import open_store

DDL = ["CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL)"]


def test_a_write_that_reads_first_waits_for_a_concurrent_writer(tmp_path):
    first, second = (open_store(tmp_path / "ledger.db", DDL) for _ in range(2))
    with first.writing() as cursor:
        cursor.execute("INSERT INTO counter VALUES (0)")
    has_read, errors = threading.Event(), []

    def read_then_write() -> None:
        try:
            with first.writing() as cursor:
                cursor.execute("SELECT n FROM counter")
                (n,) = cursor.fetchone()
                has_read.set()
                threading.Event().wait(0.3)  # the other writer tries now
                cursor.execute("UPDATE counter SET n = ?", (n + 1,))
        except Exception as error:  # the deferred-BEGIN failure shows up here
            errors.append(error)
            has_read.set()

    reader = threading.Thread(target=read_then_write)
    reader.start()
    assert has_read.wait(10)
    with second.writing() as cursor:
        cursor.execute("UPDATE counter SET n = n + 10")
    reader.join()
    try:
        assert errors == []
        assert second.query("SELECT n FROM counter") == [(11,)]  # neither update was lost
    finally:
        first.close()
        second.close()
