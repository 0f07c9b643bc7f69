"""Keep a process's C heap small: fewer malloc arenas, freed pages handed back to the system.

glibc only; elsewhere these do nothing (other allocators have their own policies).
"""

from __future__ import annotations

import ctypes
import threading
import time

_M_ARENA_MAX = -8  # glibc mallopt parameter
# Hand freed heap pages back to the system at most this often (seconds); see MemoryReturn.
TRIM_INTERVAL_S = 1.0


def load_libc() -> ctypes.CDLL | None:
    """Return the C library of this process, if it can be loaded."""
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def limit_malloc_arenas(libc: ctypes.CDLL | None, arenas: int = 2) -> None:
    """Cap glibc's malloc arenas: dozens of check threads would otherwise get one each.

    (A fixed mmap threshold, tried too, saved another 0.3 MB per check but cost CPU in page
    faults on every frame buffer.)
    """
    try:
        if libc is not None:
            libc.mallopt(_M_ARENA_MAX, arenas)
    except AttributeError:
        pass  # not glibc: its allocator has its own policy


class MemoryReturn:
    """Give freed heap memory back to the system after work is done, at most every interval.

    A finished check frees its decoder's frames and pictures (about 4 MB) in the middle of
    the heap, where glibc keeps them mapped for reuse; with 64 checks starting and ending at
    different times those free holes held 50-60 MB of the checker's resident memory.
    malloc_trim returns them, but every returned page faults again when it is reused: on
    the sweep benchmark (64 checks in flight), trimming every 0.2 s saved about 30 MB for
    2-4 ms of CPU per check; every 1 s about 15 MB at no CPU cost the runs could tell from
    noise; every 2 s less than 10 MB.
    """

    def __init__(self, libc: ctypes.CDLL | None, interval_s: float = TRIM_INTERVAL_S) -> None:
        self._trim = getattr(libc, "malloc_trim", None) if libc is not None else None
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._last = time.monotonic()

    def trim_if_due(self) -> None:
        """Trim the heap if the last trim is older than the interval (non-blocking)."""
        if self._trim is None or time.monotonic() - self._last < self._interval_s:
            return
        if not self._lock.acquire(blocking=False):
            return  # another check thread is trimming right now
        try:
            self._last = time.monotonic()
            self._trim(0)
        finally:
            self._lock.release()
