"""Refusals before authentication, counted instead of recorded one by one.

A request refused before anyone was authenticated (no signature, an unknown key, a bad
signature) costs its sender nothing, so one record each would let any client grow the
permanent log as fast as it can send. Such refusals are counted per (source IP, claimed access
key id, error code, operation) for an interval that starts at the group's first refusal; when
the interval has passed the group becomes one audit record with its count and first and last
time. This is the one exception to "no audit record, no answer": a refusal is answered before
its count is stored, so a crash loses at most the counts of the open intervals.

One source address gets its own group for at most `MAX_KEY_IDS_PER_SOURCE` claimed key ids
per interval; refusals naming further key ids are counted under key id `*` for that source,
so rotating the claimed key id buys no more records. The number of groups open at once is
capped too (many sources): refusals beyond it are counted in one group per error code with
source and key id `*`.
Pure bookkeeping, thread-safe, no I/O: the caller supplies the clock and stores the groups.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

MAX_GROUPS = 1000
MAX_KEY_IDS_PER_SOURCE = 8
FOLDED = "*"  # key id (and source IP, beyond MAX_GROUPS) of a group counting many


@dataclass(frozen=True)
class RefusalKey:
    source_ip: str
    access_key_id: str
    error_code: str
    operation: str


@dataclass(frozen=True)
class RefusalGroup:
    """The refusals of one key in one interval; the first one's details stand for all."""

    key: RefusalKey
    count: int
    throttled: int  # of them answered ThrottlingException
    first: datetime
    last: datetime
    request_id: str
    message: str
    user_agent: str
    region: str | None
    interval_seconds: float


class RefusalTally:
    def __init__(self, interval: float, max_groups: int = MAX_GROUPS) -> None:
        self.interval = timedelta(seconds=interval)
        self.max_groups = max_groups
        self._open: dict[RefusalKey, RefusalGroup] = {}
        self._lock = threading.Lock()

    def add(self, key: RefusalKey, at: datetime, *, throttled: bool, request_id: str,
            message: str, user_agent: str, region: str | None) -> None:
        with self._lock:
            if key not in self._open and key.access_key_id != FOLDED:
                key_ids = {held.access_key_id for held in self._open
                           if held.source_ip == key.source_ip}
                if (key.access_key_id not in key_ids
                        and len(key_ids - {FOLDED}) >= MAX_KEY_IDS_PER_SOURCE):
                    key = replace(key, access_key_id=FOLDED)
            if key not in self._open and len(self._open) >= self.max_groups:
                key = RefusalKey(FOLDED, FOLDED, key.error_code, "")
            group = self._open.get(key)
            if group is None:
                self._open[key] = RefusalGroup(key, 1, int(throttled), at, at, request_id,
                                               message, user_agent, region,
                                               self.interval.total_seconds())
            else:
                self._open[key] = replace(group, count=group.count + 1,
                                          throttled=group.throttled + int(throttled),
                                          last=max(group.last, at))

    def take(self, now: datetime | None) -> list[RefusalGroup]:
        """Remove and return the groups whose interval has passed at `now` (None: all)."""
        with self._lock:
            due = [group for group in self._open.values()
                   if now is None or group.first + self.interval <= now]
            for group in due:
                del self._open[group.key]
        return due

    def restore(self, groups: list[RefusalGroup]) -> None:
        """Put back groups that could not be stored, merged with any opened since."""
        with self._lock:
            for group in groups:
                current = self._open.get(group.key)
                if current is not None:
                    group = replace(group, count=group.count + current.count,
                                    throttled=group.throttled + current.throttled,
                                    last=max(group.last, current.last))
                self._open[group.key] = group
