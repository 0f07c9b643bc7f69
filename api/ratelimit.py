"""Token buckets in memory: on-demand checks per API token."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allow `per_minute` actions per key, refilled continuously, with a burst of the same size."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: int, now: float | None = None) -> float:
        """Take one action for key; return 0 when allowed, else the seconds until one is."""
        t = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.capacity, t)
            bucket.tokens = min(self.capacity, bucket.tokens + (t - bucket.updated) * self.rate)
            bucket.updated = t
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def retry_after_header(wait_s: float) -> str:
    """Return a Retry-After value (whole seconds, at least 1)."""
    return str(max(1, math.ceil(wait_s)))
