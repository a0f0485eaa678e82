"""Catch a view up with the ledger's notification log, exactly once.

SQLite has no `subscribe()`, so views pull: select the notifications after the view's recorded
position, apply them, and record the new position in the same transaction as the rows. A crash
loses at most the batch in flight, which is then applied again from the recorded position; a
second process catching up at the same time fails its position update (IntegrityError), rolls
back, and continues from wherever the other one got to.

After scanning up to `stop` the position moves to `stop` even when no event there concerned the
view, so a view that ignores most events does not rescan them on every read.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Mapper
from eventsourcing.sqlite import SQLiteCursor

from projections.store import ReadStore

DEFAULT_BATCH = 1000
Progress = Callable[[int], None]


class View(Protocol):
    """A read model: its tables and how one event changes them."""

    name: str  # the key of its position in the tracking table
    topics: tuple[str, ...]  # exact topics of the events it reads
    ddl: list[str]
    tables: dict[str, str]  # table -> ORDER BY that makes its rows' order total

    def process(self, cursor: SQLiteCursor, event: Any, position: int) -> None: ...


def catch_up(recorder: ApplicationRecorder, mapper: Mapper, view: View, store: ReadStore, *,
             stop: int | None = None, batch: int = DEFAULT_BATCH,
             progress: Progress | None = None) -> int:
    """Apply every event after the view's position up to `stop` (default: the log's end).

    Returns how many events were applied. Each batch commits with its position.
    """
    if stop is None:
        stop = recorder.max_notification_id() or 0
    applied = 0
    start = store.position(view.name)
    while start < stop:
        notes = recorder.select_notifications(start, batch, stop=stop, topics=view.topics,
                                              inclusive_of_start=False)
        reached = notes[-1].id if len(notes) == batch else stop
        events = [(mapper.to_domain_event(note), note.id) for note in notes]
        try:
            with store.writing() as cursor:
                for event, position in events:
                    view.process(cursor, event, position)
                store.record_position(cursor, view.name, reached)
        except IntegrityError:
            # Someone else applied this range first: nothing of ours was kept. If nobody
            # moved the position, the error is the view's own and must not be retried.
            moved_to = store.position(view.name)
            if moved_to <= start:
                raise
            start = moved_to
            continue
        applied += len(events)
        start = reached
        if progress is not None:
            progress(reached)
    return applied
