"""Catch a view up with the ledger's notification log, exactly once.

SQLite has no `subscribe()`, so views pull: select the notifications after the view's recorded
position, apply them, and record the new position in the same transaction as the rows. A crash
loses at most the batch in flight, which is then applied again from the recorded position; a
second process catching up at the same time fails its position update (IntegrityError), rolls
back, and continues from wherever the other one got to.

A view receives a whole batch at once (`View.process`), so it can fold the batch in memory and
write each table with one `executemany`. Events are read with `LogReader`, which decodes as the
mapper does at a lower cost per event.

After scanning up to `stop` the position moves to `stop` even when no event there concerned the
view, so a view that ignores most events does not rescan them on every read.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Mapper

from projections.log_reader import LogReader
from projections.store import ReadStore

DEFAULT_BATCH = 1000
BULK_BATCH = 10_000  # rebuilds: fewer, larger transactions (each commit is a sync)
Progress = Callable[[int], None]
Batch = Sequence[tuple[int, Any]]  # (position, event) in log order


class View(Protocol):
    """A read model: its tables and how a batch of events changes them."""

    name: str  # the key of its position in the tracking table
    topics: tuple[str, ...]  # exact topics of the events it reads
    ddl: list[str]
    tables: dict[str, str]  # table -> ORDER BY that makes its rows' order total

    def process(self, cursor: Any, events: Batch, start: int, reached: int) -> None:
        """Apply `events` (those after `start`, the position the store holds for the view)
        inside the transaction that then records `reached` as the view's position. A view may
        keep what it computed for the next batch, valid while the store says `reached`."""
        ...


def catch_up(recorder: ApplicationRecorder, mapper: Mapper, view: View, store: ReadStore, *,
             stop: int | None = None, batch: int = DEFAULT_BATCH,
             progress: Progress | None = None, reader: LogReader | None = None) -> int:
    """Apply every event after the view's position up to `stop` (default: the log's end).

    Returns how many events were applied. Each batch commits with its position.
    """
    return catch_up_views(recorder, mapper, [view], store, stop=stop, batch=batch,
                          progress=progress, reader=reader)


def catch_up_views(recorder: ApplicationRecorder, mapper: Mapper, views: Sequence[View],
                   store: ReadStore, *, stop: int | None = None, batch: int = DEFAULT_BATCH,
                   progress: Progress | None = None, reader: LogReader | None = None) -> int:
    """Catch several views up in one pass over the log: each event is read and decoded once,
    and given to every view that reads its topic and has not applied it yet. Each batch
    commits every view's rows and positions together. Returns events applied (per view)."""
    if stop is None:
        stop = recorder.max_notification_id() or 0
    reader = reader or LogReader(recorder, mapper)
    by_topic: dict[str, list[View]] = {}
    for view in views:
        for topic in view.topics:
            by_topic.setdefault(topic, []).append(view)
    applied = 0
    positions = {view.name: store.position(view.name) for view in views}
    while (start := min(positions.values(), default=stop)) < stop:
        events = reader.after(start, batch, stop=stop, topics=tuple(by_topic))
        reached = events[-1][0] if len(events) == batch else stop
        given: dict[str, list[tuple[int, Any]]] = {view.name: [] for view in views}
        for position, topic, event in events:
            for view in by_topic[topic]:
                if positions[view.name] < position:
                    given[view.name].append((position, event))
        try:
            with store.writing() as cursor:
                for view in views:
                    if positions[view.name] < reached:
                        view.process(cursor, given[view.name], positions[view.name], reached)
                        applied += len(given[view.name])
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
