"""A short-lived readiness snapshot shared by all requests, refreshed in the background."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

from camfleet.readiness_query import ReadinessSnapshot
from camfleet.redact import redact_text

log = logging.getLogger("camfleet.api")

REBUILD_SWITCH_INTERVAL_S = 0.0005


class SnapshotCache:
    """Serve a snapshot up to `ttl_s` old; after that, serve it while one thread rebuilds it.

    A write made through the API calls `invalidate()`, after which the next reader builds a fresh
    snapshot itself, so an installer sees the result of their own check at once. Writes made
    elsewhere (sweeps, other processes) are noticed by `probe`, a cheap query whose answer
    changes when the data does; an unchanged answer keeps the snapshot without rebuilding it,
    up to `max_age_s` (staleness depends on the clock, not only on the data).
    """

    def __init__(
        self,
        build: Callable[[], ReadinessSnapshot],
        ttl_s: float = 5.0,
        probe: Callable[[], object] | None = None,
        max_age_s: float = 60.0,
    ) -> None:
        self._build = build
        self._probe = probe
        self.ttl_s = ttl_s
        self.max_age_s = max_age_s
        self._probed: object = None
        self._rebuilt_at = 0.0
        self._snapshot: ReadinessSnapshot | None = None
        self._built_at = 0.0
        self._generation = 0
        self._lock = threading.Lock()
        self._refreshing = False
        # Responses rendered from one snapshot, keyed by what was asked.
        self._rendered: tuple[ReadinessSnapshot | None, dict[object, bytes]] = (None, {})

    def invalidate(self) -> None:
        """Drop the snapshot: the next reader rebuilds it."""
        with self._lock:
            self._generation += 1
            self._snapshot = None

    def current(self) -> ReadinessSnapshot | None:
        """Return the snapshot when fresh enough to serve without blocking, else None."""
        snap = self._snapshot
        if snap is None:
            return None
        if time.monotonic() - self._built_at > self.ttl_s:
            self._refresh_in_background()
        return snap

    def get(self) -> ReadinessSnapshot:
        """Return a servable snapshot, building one now if there is none."""
        snap = self.current()
        if snap is not None:
            return snap
        with self._lock:
            generation = self._generation
            if self._snapshot is not None:
                return self._snapshot
        probed = self._probe() if self._probe else None
        fresh = self._build()
        with self._lock:
            if generation == self._generation:
                self._install(fresh, probed)
        return fresh

    def _build_politely(self) -> ReadinessSnapshot:
        # A rebuild is some 0.4 s of pure Python in a background thread; with the default 5 ms
        # switch interval each request waits up to 5 ms per handover of the interpreter lock.
        # Handing it back every 0.5 ms while the rebuild runs keeps request latency flat.
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, REBUILD_SWITCH_INTERVAL_S))
        try:
            return self._build()
        finally:
            sys.setswitchinterval(previous)

    def _install(self, snap: ReadinessSnapshot, probed: object) -> None:
        self._snapshot = snap
        self._built_at = self._rebuilt_at = time.monotonic()
        self._probed = probed

    def rendered_for(self, snap: ReadinessSnapshot) -> dict[object, bytes]:
        """Return the cache of responses rendered from this snapshot."""
        owner, rendered = self._rendered
        if owner is not snap:
            rendered = {}
            self._rendered = (snap, rendered)
        return rendered

    def _refresh_in_background(self) -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
            generation = self._generation
        threading.Thread(target=self._refresh, args=(generation,), daemon=True).start()

    def _refresh(self, generation: int) -> None:
        try:
            probed = self._probe() if self._probe else None
            young = time.monotonic() - self._rebuilt_at < self.max_age_s
            if probed is not None and probed == self._probed and young:
                with self._lock:
                    if generation == self._generation and self._snapshot is not None:
                        self._built_at = time.monotonic()
                return
            fresh = self._build_politely()
            with self._lock:
                if generation == self._generation:
                    self._install(fresh, probed)
        except Exception as exc:  # noqa: BLE001 - keep serving the old snapshot; retry next time
            log.warning("readiness refresh failed: %s", redact_text(str(exc))[:300])
        finally:
            with self._lock:
                self._refreshing = False
