"""Throttling of failed authentication, per (source IP, claimed access key id).

Every local client shares 127.0.0.1, so the bucket is keyed by the access key id a request
names as well: a flood of unsigned requests, or of bad signatures naming some key id, empties
only that pair's bucket. One source address gets its own bucket for at most
`MAX_KEY_IDS_PER_SOURCE` claimed key ids; further ones share the bucket of key id `*` for that
address, so rotating the claimed key id does not escape throttling. Only refusals draw on a
bucket and a request is verified before its bucket is consulted, so a correctly signed request is never throttled, whoever else fails.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ledger.refusals import FOLDED, MAX_KEY_IDS_PER_SOURCE

MAX_PEERS = 10_000  # buckets kept; the least recently used goes first (it starts full again)


class FailureThrottle:
    """A token bucket per peer: `burst` refusals at once, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: float, max_peers: int = MAX_PEERS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_peers = rate, burst, max_peers
        self._monotonic = monotonic
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()
        self._key_ids: OrderedDict[str, set[str]] = OrderedDict()  # per source, least recent first
        self._lock = threading.Lock()

    def allow(self, peer: tuple[str, str]) -> bool:
        """Take one token for a refusal of `peer`; False: none left, answer ThrottlingException."""
        now = self._monotonic()
        with self._lock:
            peer = self._fold(peer)
            tokens, since = self._buckets.pop(peer, (self.burst, now))
            tokens = min(self.burst, tokens + (now - since) * self.rate)
            allowed = tokens >= 1
            self._buckets[peer] = (tokens - 1 if allowed else tokens, now)
            while len(self._buckets) > self.max_peers:
                self._buckets.popitem(last=False)
        return allowed

    def _fold(self, peer: tuple[str, str]) -> tuple[str, str]:
        source, key_id = peer
        key_ids = self._key_ids.pop(source, set())
        self._key_ids[source] = key_ids
        while len(self._key_ids) > self.max_peers:
            self._key_ids.popitem(last=False)
        if key_id in key_ids:
            return peer
        if len(key_ids) >= MAX_KEY_IDS_PER_SOURCE:
            return source, FOLDED
        key_ids.add(key_id)
        return peer
