"""Group commit: concurrent saves share one durable transaction.

Every call waits for its save to be durable (a read for its audit record: fail closed), so under
load each call would pay a whole commit, fsync included, of its own. Instead, a thread arriving
while another is committing queues its events; the next thread to get the commit lock writes
everything queued, its own included, in one `insert_events` call with the key-store changes of
all of them. Nobody waits on a timer: a batch is whatever arrived during the previous commit, so
a lone caller commits at once.

A transaction of many saves succeeds only if each would have succeeded alone: every save's
events take the next versions of their aggregates, and two saves conflicting with each other or
with the store make the whole transaction fail. Then each save in the batch is retried on its
own, so only the one that really conflicts sees the error (and re-runs on fresh state).
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder, StoredEvent

from ledger.keys.keystore import KeyStoreChanges


@dataclass
class _Pending:
    events: Sequence[StoredEvent]
    key_changes: KeyStoreChanges | None = None
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

    def insert(self, events: Sequence[StoredEvent],
               key_changes: KeyStoreChanges | None = None) -> Sequence[int]:
        """Store `events` and their key-store changes durably (alone or with others');
        returns their notification ids."""
        pending = _Pending(events, key_changes or None)
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
            changes = [p.key_changes for p in batch if p.key_changes]
            kwargs = {"key_changes": KeyStoreChanges.combined(changes)} if changes else {}
            ids = self._recorder.insert_events([e for p in batch for e in p.events],
                                               **kwargs) or []
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
