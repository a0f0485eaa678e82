"""Which connections the endpoint holds: counted when accepted, before any TLS handshake.

A socket costs a file descriptor from the moment it is accepted, so it is counted from then
on, not once a handshake has finished: a client that opens TCP connections and never sends a
ClientHello is capped and timed out like any other. Two limits apply: connections from one
source address (`--max-connections-per-peer`) and in all (`--max-connections`). At either
limit, the connection that has waited longest for its next request's headers (silent, mid
handshake, or idle between requests) is closed to make room, so a client filling the slots
with sockets it never uses loses them to clients that send requests; only when every
connection is busy is the newcomer closed. Counting and choosing only: the caller closes.
"""
from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(eq=False)
class Slot:
    """One accepted connection: its source address and how to close it."""

    peer: str
    close: Callable[[], None]
    released: bool = field(default=False)


class Admission:
    def __init__(self, max_connections: int, max_per_peer: int) -> None:
        self.max_connections, self.max_per_peer = max_connections, max_per_peer
        self._per_peer: Counter[str] = Counter()
        self._held = 0
        self._waiting: OrderedDict[Slot, None] = OrderedDict()  # longest waiting first

    def admit(self, slot: Slot) -> bool:
        """Count `slot` in, closing the longest waiting connection if a limit is reached;
        False: every connection in the way is busy, close the newcomer instead."""
        if self._per_peer[slot.peer] >= self.max_per_peer:
            if not self._evict(lambda held: held.peer == slot.peer):
                return False
        if self._held >= self.max_connections and not self._evict(lambda held: True):
            return False
        self._per_peer[slot.peer] += 1
        self._held += 1
        self._waiting[slot] = None
        return True

    def waiting(self, slot: Slot, waiting: bool) -> None:
        """`slot` starts (True) or stops waiting for a request's headers."""
        self._waiting.pop(slot, None)
        if waiting and not slot.released:
            self._waiting[slot] = None

    def release(self, slot: Slot) -> None:
        """`slot` is closed; a second call changes nothing."""
        if slot.released:
            return
        slot.released = True
        self._waiting.pop(slot, None)
        self._held -= 1
        self._per_peer[slot.peer] -= 1
        if not self._per_peer[slot.peer]:
            del self._per_peer[slot.peer]

    def _evict(self, eligible: Callable[[Slot], bool]) -> bool:
        victim = next((held for held in self._waiting if eligible(held)), None)
        if victim is None:
            return False
        self.release(victim)
        victim.close()
        return True
