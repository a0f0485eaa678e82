"""Group commit: concurrent saves of new audit records share one durable transaction.

A read is not answered until its audit record is durable (fail closed), so under load each read
would pay a whole SQLite commit of its own. Instead, a thread arriving while another is
committing queues its events; the next thread to get the commit lock writes everything queued,
its own included, in one `insert_events` call. Nobody waits on a timer: a batch is whatever
arrived during the previous commit, so a lone caller commits at once.

Only saves that create brand-new single-event aggregates (API call records) are grouped: they
cannot conflict with one another, so one transaction for many is equivalent to one each. Should a
batch fail anyway (a reused request id, say), each save in it is retried on its own, so only the
offending one sees the error.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder, StoredEvent


@dataclass
class _Pending:
    events: Sequence[StoredEvent]
    done: bool = False
    ids: Sequence[int] = ()
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, recorder: ApplicationRecorder) -> None:
        self._recorder = recorder
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self.batches = 0  # transactions written, for benchmarks and tests
        self.saves = 0

    def insert(self, events: Sequence[StoredEvent]) -> Sequence[int]:
        """Store `events` durably (alone or with others'); returns their notification ids."""
        pending = _Pending(events)
        with self._queue_lock:
            self._queue.append(pending)
        with self._commit_lock:
            if not pending.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._write(batch)
        if pending.error is not None:
            raise pending.error
        return pending.ids

    def _write(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.saves += len(batch)
        try:
            ids = self._recorder.insert_events([e for p in batch for e in p.events]) or []
        except Exception as error:
            if len(batch) == 1:
                batch[0].error, batch[0].done = error, True
                return
            for pending in batch:  # find the one that failed; the others still commit
                self._write([pending])
            return
        offset = 0
        for pending in batch:
            pending.ids = list(ids[offset:offset + len(pending.events)])
            offset += len(pending.events)
            pending.done = True
