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

from collections.abc import Callable, Sequence
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
    return catch_up_views(recorder, mapper, [view], store, stop=stop, batch=batch,
                          progress=progress)


def catch_up_views(recorder: ApplicationRecorder, mapper: Mapper, views: Sequence[View],
                   store: ReadStore, *, stop: int | None = None, batch: int = DEFAULT_BATCH,
                   progress: Progress | None = None) -> int:
    """Catch several views up in one pass over the log: each notification is read and decoded
    once, and given to every view that reads its topic and has not applied it yet. Each batch
    commits every view's rows and positions together. Returns events applied (per view)."""
    if stop is None:
        stop = recorder.max_notification_id() or 0
    by_topic: dict[str, list[View]] = {}
    for view in views:
        for topic in view.topics:
            by_topic.setdefault(topic, []).append(view)
    applied = 0
    positions = {view.name: store.position(view.name) for view in views}
    while (start := min(positions.values(), default=stop)) < stop:
        notes = recorder.select_notifications(start, batch, stop=stop, topics=tuple(by_topic),
                                              inclusive_of_start=False)
        reached = notes[-1].id if len(notes) == batch else stop
        try:
            with store.writing() as cursor:
                for note in notes:
                    event = None
                    for view in by_topic[note.topic]:
                        if positions[view.name] < note.id:
                            event = event or mapper.to_domain_event(note)
                            view.process(cursor, event, note.id)
                            applied += 1
                for view in views:
                    if positions[view.name] < reached:
                        store.record_position(cursor, view.name, reached)
        except IntegrityError:
            # Someone else applied part of this range first: nothing of ours was kept. If
            # nobody moved a position, the error is a view's own and must not be retried.
            moved = {view.name: store.position(view.name) for view in views}
            if moved == positions:
                raise
            positions = moved
            continue
        positions = {name: max(position, reached) for name, position in positions.items()}
        if progress is not None:
            progress(reached)
    return applied
