"""Throttling of failed authentication, per (source IP, claimed access key id).

Every local client shares 127.0.0.1, so the bucket is keyed by the access key id a request
names as well: a flood of unsigned requests, or of bad signatures naming some key id, empties
only that pair's bucket. Only refusals draw on a bucket and a request is verified before its
bucket is consulted, so a correctly signed request is never throttled, whoever else fails.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_PEERS = 10_000  # buckets kept; the least recently used goes first (it starts full again)


class FailureThrottle:
    """A token bucket per peer: `burst` refusals at once, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: float, max_peers: int = MAX_PEERS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_peers = rate, burst, max_peers
        self._monotonic = monotonic
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, peer: tuple[str, str]) -> bool:
        """Take one token for a refusal of `peer`; False: none left, answer ThrottlingException."""
        now = self._monotonic()
        with self._lock:
            tokens, since = self._buckets.pop(peer, (self.burst, now))
            tokens = min(self.burst, tokens + (now - since) * self.rate)
            allowed = tokens >= 1
            self._buckets[peer] = (tokens - 1 if allowed else tokens, now)
            while len(self._buckets) > self.max_peers:
                self._buckets.popitem(last=False)
        return allowed
