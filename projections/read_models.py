"""The read models a ledger owns, and read-your-writes over them.

Every query first catches its view up to the end of the log as it stands when the query starts.
A caller's own write has committed before its next read begins, so that read always sees it
(and every other write committed by then, in this process or another). When the view is
already there, the check costs one `MAX(rowid)` and one position lookup.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from projections import current_queries
from projections.audit_trail import AuditTrailView
from projections.current_state import CurrentStateView
from projections.runner import Progress, View, catch_up, catch_up_views
from projections.secret_view import SecretView
from projections.store import ReadStore, open_store

T = TypeVar("T")


class ReadModels:
    """A ledger's views, kept in one store, each caught up under its own lock."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper, db_path: Path | None,
                 account_id: str) -> None:
        self.recorder, self.mapper = recorder, mapper
        self.current = CurrentStateView()
        self.audit = AuditTrailView(account_id)
        self.views: tuple[View, ...] = (self.current, self.audit)
        self.store: ReadStore = open_store(db_path, [s for v in self.views for s in v.ddl])
        self._locks = {view.name: threading.Lock() for view in self.views}

    # ---- keeping up -----------------------------------------------------------------------
    def refresh(self, view: View, stop: int | None = None,
                progress: Progress | None = None) -> int:
        """Catch `view` up to `stop` (default: the log's end now). Returns events applied."""
        with self._locks[view.name]:
            return catch_up(self.recorder, self.mapper, view, self.store, stop=stop,
                            progress=progress)

    def refresh_all(self, progress: Progress | None = None) -> int:
        """Catch every view up in one pass over the log."""
        with self._all_locks():
            return catch_up_views(self.recorder, self.mapper, self.views, self.store,
                                  progress=progress)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop every view's rows and position, then replay the whole log into them."""
        with self._all_locks():
            for view in self.views:
                self.store.reset(view.name, view.tables)
            return catch_up_views(self.recorder, self.mapper, self.views, self.store,
                                  progress=progress)

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

    def close(self) -> None:
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

    def read_audit(self, query: Callable[[SQLiteCursor], T]) -> T:
        self.refresh(self.audit)
        with self.store.reading() as cursor:
            return query(cursor)


def open_read_models(recorder: ApplicationRecorder, mapper: Mapper, data_dir: Path | None,
                     account_id: str) -> ReadModels:
    """Views live in `data_dir/ledger.db` beside the log; in memory when there is no file."""
    if data_dir is not None and isinstance(recorder, SQLiteApplicationRecorder):
        return ReadModels(recorder, mapper, data_dir / "ledger.db", account_id)
    return ReadModels(recorder, mapper, None, account_id)
