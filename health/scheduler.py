"""The embedded scheduler: a fleet sweep every interval, jittered, never overlapping."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from camfleet.config import Settings
from camfleet.vault import Vault
from health.sweep import SweepSummary, claim, execute_sweep
from health.sweep_record import SweepBusy, cancel_sweep

log = logging.getLogger(__name__)

TRIGGER = "schedule"


def next_delay(interval_s: float, jitter_s: float, rng: random.Random) -> float:
    """Return the wait before a scheduled sweep: the interval plus a random jitter."""
    return interval_s + rng.uniform(0.0, jitter_s)


class SweepScheduler:
    """Run a fleet sweep after a jittered delay, then every sweep interval, on a thread.

    A tick is skipped while another sweep covers the fleet (a manual one, or one from another
    process); the next tick comes an interval later. stop() cancels a sweep in progress.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        vault: Vault,
        *,
        rng: random.Random | None = None,
        on_sweep: Callable[[SweepSummary], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.vault = vault
        self._rng = rng or random.Random()
        self._on_sweep = on_sweep
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._current: int | None = None
        self.skipped = 0
        self.completed = 0

    def start(self) -> None:
        """Start the scheduling thread (first sweep after the jitter only)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sweep-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling, cancel a sweep in progress, and wait for the thread."""
        self._stop.set()
        current = self._current
        if current is not None:
            cancel_sweep(self.sessions, current)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """Return whether the scheduling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        """Wait, sweep, repeat; keep the next tick on the interval grid when a sweep runs long."""
        delay = self._rng.uniform(0.0, self.settings.sweep_jitter_s)
        while not self._stop.wait(delay):
            started = time.monotonic()
            self.tick()
            spent = time.monotonic() - started
            delay = max(
                0.0,
                next_delay(self.settings.sweep_interval_s, self.settings.sweep_jitter_s, self._rng)
                - spent,
            )

    def tick(self) -> SweepSummary | None:
        """Run one scheduled sweep now, or skip it when another sweep holds the fleet."""
        try:
            sweep_id = claim(self.sessions, None, TRIGGER)
        except SweepBusy as exc:
            self.skipped += 1
            log.info("scheduled sweep skipped: %s", exc)
            return None
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not end the schedule
            log.warning("scheduled sweep could not start: %s: %s", type(exc).__name__, exc)
            return None
        self._current = sweep_id
        try:
            summary = execute_sweep(self.settings, self.sessions, self.vault, sweep_id)
        finally:
            self._current = None
        self.completed += 1
        log.info(
            "scheduled sweep %d %s: %d/%d cameras in %.1f s",
            summary.sweep_id,
            summary.status,
            summary.done,
            summary.total,
            summary.elapsed_s,
        )
        if self._on_sweep is not None:
            self._on_sweep(summary)
        return summary
