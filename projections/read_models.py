"""The read models a ledger owns, and read-your-writes over them.

Every query first catches its view up to the end of the log as it stands when the query starts.
A caller's own write has committed before its next read begins, so that read always sees it
(and every other write committed by then, in this process or another). When the view is
already there, the check costs one `MAX(rowid)` and one position lookup.

On PostgreSQL several server processes share one database, and only the one holding the
projection lock (`projections.leadership`) catches the views up; a query anywhere else waits
until the views' positions reach that same end of the log, so it still sees every write
acknowledged before it began, whichever process took that write.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from ledger.config import LEDGER_FILE
from ledger.integrity.store import store_for

from projections import current_queries
from projections.audit_records import TrailCursor
from projections.audit_trail import AuditTrailView
from projections.current_state import CurrentStateView
from projections.leadership import RETRY, Leadership, lock_key
from projections.log_reader import LogReader
from projections.runner import BULK_BATCH, Progress, View, catch_up, catch_up_views
from projections.secret_view import SecretView
from projections.store import ReadStore, open_store
from projections.view_schema import retire_stale_views

T = TypeVar("T")
log = logging.getLogger(__name__)
LEADER_STALL = 10.0  # seconds without progress before a waiting reader catches up itself


class ReadModels:
    """A ledger's views, kept in one store, each caught up under its own lock."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper, db_path: Path | None,
                 account_id: str,
                 store_factory: Callable[[list[str]], Any] | None = None) -> None:
        self.recorder, self.mapper = recorder, mapper
        self.current = CurrentStateView()
        self.audit = AuditTrailView(account_id)
        self.views: tuple[View, ...] = (self.current, self.audit)
        ddl = [s for v in self.views for s in v.ddl]
        if store_factory is None and db_path is not None:
            retire_stale_views(db_path, self.views)  # tables of an older shape: rebuild
        self.store: ReadStore = store_factory(ddl) if store_factory else open_store(db_path, ddl)
        self._locks = {view.name: threading.Lock() for view in self.views}
        try:  # the log's hash chain, which audit records are checked against
            self._integrity: Any = store_for(recorder)
        except TypeError:
            self._integrity = None
        # On PostgreSQL one process at a time catches the views up (see `leadership`); the
        # others wait for it. None: every process catches up for itself (SQLite, memory).
        self.leadership: Leadership | None = None

    # ---- keeping up -----------------------------------------------------------------------
    def refresh(self, view: View, stop: int | None = None,
                progress: Progress | None = None) -> int:
        """Catch `view` up to `stop` (default: the log's end now). Returns events applied
        here (0 when the leading process did it)."""
        if self._leader_caught_up([view], stop):
            return 0
        with self._locks[view.name]:
            return catch_up(self.recorder, self.mapper, view, self.store, stop=stop,
                            progress=progress)

    def refresh_all(self, progress: Progress | None = None) -> int:
        """Catch every view up in one pass over the log."""
        if self._leader_caught_up(self.views, None):
            return 0
        return self._catch_up_all(progress)

    def _catch_up_all(self, progress: Progress | None = None) -> int:
        with self._all_locks():
            return catch_up_views(self.recorder, self.mapper, self.views, self.store,
                                  progress=progress)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop every view's rows and position, then replay the whole log into them.
        On PostgreSQL only the leading process may, so no one applies events meanwhile."""
        if self.leadership is not None and not self.leadership.try_now(timeout=3 * RETRY):
            raise RuntimeError("another process runs the projections; rebuild there")
        with self._all_locks():
            for view in self.views:
                self.store.reset(view.name, view.tables)
            return catch_up_views(self.recorder, self.mapper, self.views, self.store,
                                  progress=progress, batch=BULK_BATCH)

    @contextmanager
    def _all_locks(self) -> Iterator[None]:
        with ExitStack() as stack:
            for view in self.views:  # always in the same order
                stack.enter_context(self._locks[view.name])
            yield

    def positions(self) -> dict[str, int]:
        return {view.name: self.store.position(view.name) for view in self.views}

    def digests(self) -> dict[str, tuple[int, str]]:
        """Each view's (position, digest of its rows)."""
        return {view.name: self.store.digest(view.name, view.tables) for view in self.views}

    # ---- PostgreSQL: waiting for the leading process -----------------------------------
    def follow_in_background(self) -> None:
        """Compete for running the projections now, not only on the first read (servers do,
        so a dead leader is replaced even while nobody reads). No-op on SQLite."""
        if self.leadership is not None:
            self.leadership.start()

    def _leader_caught_up(self, views: Sequence[View], stop: int | None) -> bool:
        """True once the leading process has brought `views` to `stop` (default: the log's
        end as of now, which includes every write the caller has had acknowledged); False
        when this process must catch up itself: it leads, or the leader stalls."""
        leadership = self.leadership
        if leadership is None or leadership.leading:
            return False
        leadership.start()
        target = stop if stop is not None else (self.recorder.max_notification_id() or 0)
        names = [view.name for view in views]
        delay, last, stalled_since = 0.001, -1, time.monotonic()
        while True:
            lowest = min(self.store.positions(names).values())
            if lowest >= target:
                return True
            if leadership.leading:
                return False
            now = time.monotonic()
            if lowest != last:
                last, stalled_since = lowest, now
            elif now - stalled_since > LEADER_STALL:
                log.warning("projection leader stalled at %d; catching up here", lowest)
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def close(self) -> None:
        if self.leadership is not None:
            self.leadership.stop()
        self.store.close()

    # ---- current state --------------------------------------------------------------------
    def read_current(self, query: Callable[[SQLiteCursor], T]) -> T:
        self.refresh(self.current)
        with self.store.reading() as cursor:
            return query(cursor)

    def find_secret(self, secret_id: str) -> SecretView:
        return self.read_current(lambda c: current_queries.find_secret(c, secret_id))

    def all_secrets(self) -> list[SecretView]:
        return self.read_current(current_queries.live_secrets)

    def default_key_arn(self) -> str | None:
        return self.read_current(current_queries.default_key_arn)

    def read_audit(self, query: Callable[[TrailCursor], T]) -> T:
        self.refresh(self.audit)
        with self.audit_reading() as cursor:
            return query(cursor)

    @contextmanager
    def audit_reading(self) -> Iterator[TrailCursor]:
        """A read transaction on the views whose cursor also renders audit records (no
        catch-up: see `read_audit`)."""
        with self.store.reading() as cursor:
            yield TrailCursor(cursor, LogReader(self.recorder, self.mapper), self.audit.account_id,
                              self._integrity, self.store.position_in(cursor, self.audit.name))


def open_read_models(recorder: ApplicationRecorder, mapper: Mapper, data_dir: Path | None,
                     account_id: str) -> ReadModels:
    """Views live in `data_dir/ledger.db` beside the log, in the log's PostgreSQL database,
    or in memory when there is neither."""
    from ledger.pg_storage import PostgresLedgerRecorder
    if isinstance(recorder, PostgresLedgerRecorder):
        return _postgres_read_models(recorder, mapper, account_id)
    if data_dir is not None and isinstance(recorder, SQLiteApplicationRecorder):
        return ReadModels(recorder, mapper, data_dir / LEDGER_FILE, account_id)
    return ReadModels(recorder, mapper, None, account_id)


def _postgres_read_models(recorder: Any, mapper: Mapper, account_id: str) -> ReadModels:
    from ledger.pg_schema import sibling_datastore
    from projections.pg_store import PgReadStore

    models = ReadModels(recorder, mapper, None, account_id,
                        store_factory=lambda ddl: PgReadStore(sibling_datastore(recorder.datastore),
                                                              ddl))
    key = lock_key(recorder.datastore.schema, recorder.events_table_name)
    # The session's application_name says which process leads (pg_stat_activity).
    name = f"secrets-ledger projections pid={os.getpid()}"
    models.leadership = Leadership(lambda: recorder.connect(application_name=name), key,
                                   recorder.channel_name, models._catch_up_all)
    return models
