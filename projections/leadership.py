"""One process at a time runs the projections of a ledger on PostgreSQL.

The leader is whoever holds a session-level advisory lock, keyed by the ledger's schema and
events table, on a connection of its own. The lock lives exactly as long as that session:
when the leader's process dies (even by SIGKILL) PostgreSQL ends the session and releases it,
and the next candidate takes it over within `RETRY` seconds. The same connection LISTENs on
the events table's channel, so the leader catches the views up as soon as anything commits
(under a stream of writes, at most every `COALESCE` seconds, so each transaction applies a
batch rather than one write's events).

Leadership makes the work efficient, not correct: catch-up records each view's position in the
same transaction as its rows, and a position only moves forward, so two processes catching up
at once still apply every event exactly once (the loser's transaction rolls back).
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

RETRY = 0.5  # seconds between attempts to take the lock; also the longest idle wait
COALESCE = 0.02  # seconds: the shortest time between two catch-ups while writes stream in


def lock_key(*names: str) -> int:
    """A signed 64-bit advisory lock key for these names."""
    digest = hashlib.sha256(("projections:" + ".".join(names)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    """A background thread that tries to lead and, while leading, follows the log."""

    def __init__(self, connect: Callable[[], Any], key: int, channel: str,
                 catch_up: Callable[[], Any]) -> None:
        self._connect, self._key, self._channel, self._catch_up = connect, key, channel, catch_up
        self._leading = threading.Event()
        self._stopping = threading.Event()
        self._poke = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.terms = 0  # times this process became leader

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    def start(self) -> None:
        """Start competing for the lock (idempotent)."""
        with self._start_lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name="projection-leadership",
                                                daemon=True)
                self._thread.start()

    def try_now(self, timeout: float = 1.0) -> bool:
        """Ask the thread to try for the lock at once; True if this process leads."""
        self.start()
        if not self.leading:
            self._poke.set()
            self._leading.wait(timeout)
        return self.leading

    def stop(self) -> None:
        """Stop following and give the lock up (closing the session releases it)."""
        self._stopping.set()
        self._poke.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    # ---- the thread -------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            connection = None
            try:
                connection = self._connect()
                self._campaign(connection)
            except Exception as error:
                if not self._stopping.is_set():
                    log.warning("projection leadership lost: %s", type(error).__name__)
            finally:
                self._leading.clear()
                if connection is not None:
                    try:
                        connection.close()
                    except Exception:
                        pass
            self._stopping.wait(RETRY)

    def _campaign(self, connection: Any) -> None:
        while not self._stopping.is_set():
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            if row[0]:
                break
            self._poke.wait(RETRY)
            self._poke.clear()
        else:
            return
        connection.execute(f'LISTEN "{self._channel}"')
        self.terms += 1
        self._leading.set()
        log.info("this process now runs the projections")
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                self._catch_up()
            except Exception:  # a view's own error: keep the lock, retry after a pause
                log.exception("projection catch-up failed")
                self._stopping.wait(RETRY)
            # Wait for the next commit; this also notices a dead session (it raises), which
            # ends the term: the lock is gone with the session.
            for _ in connection.notifies(timeout=RETRY, stop_after=1):
                break
            # Under a stream of writes, gather what commits within COALESCE into one batch:
            # one transaction per batch costs far less than one per write.
            self._stopping.wait(max(0.0, began + COALESCE - time.monotonic()))
            for _ in connection.notifies(timeout=0):  # one catch-up covers every commit so far
                pass
