"""Sweeps: check many cameras on checker processes, confirm failures, store results in batches.

A sweep is claimed in the database (no two sweeps over the same cameras), then the parent
hands checks to a CheckPool, turns outcomes into camera states, schedules the quick confirming
re-check of each new failure, writes results and progress one transaction per batch, and stops
early when cancellation is requested. A sweep whose process dies is found by its stale
heartbeat, marked interrupted, and no longer blocks the next one.
"""

from __future__ import annotations

import heapq
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from camfleet.config import Settings
from camfleet.db import transaction
from camfleet.models import Sweep
from camfleet.redact import redact_text
from camfleet.sites import get_site
from camfleet.vault import Vault
from health.model import CaptureOptions, CheckOutcome
from health.pool import Build, CheckPool, PoolSize, failed_outcome, pool_size
from health.state import StateRules, StateSnapshot, needs_confirmation
from health.store import CheckRecord, record_checks
from health.sweep_record import (
    HEARTBEAT_STALE_S,
    SweepStatus,
    claim_sweep,
    finish_sweep,
    record_progress,
)
from health.targets import CheckPlan, capture_options, plans_for, plans_in_scope

log = logging.getLogger(__name__)

BATCH_SIZE = 100
FLUSH_INTERVAL_S = 0.5
HEARTBEAT_INTERVAL_S = 1.0
NOT_CHECKED = "not_checked"
_WRITE_TRIES = 4

ProgressFn = Callable[[int, int, Mapping[str, int]], None]


@dataclass(frozen=True)
class SweepSummary:
    """How a sweep ended: its status, cameras done of total, final statuses, checks run."""

    sweep_id: int
    status: SweepStatus
    total: int
    done: int
    counts: dict[str, int]
    checks: int
    elapsed_s: float
    error: str | None = None


def _owner() -> str:
    """Return who runs a sweep: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def claim(
    sessions: sessionmaker[Session],
    scope_site_code: str | None,
    trigger: str,
    stale_s: float = HEARTBEAT_STALE_S,
) -> int:
    """Create the sweep record for a scope and return its id; raise SweepBusy on overlap."""
    with transaction(sessions) as session:
        scope = get_site(session, scope_site_code) if scope_site_code else None
        return claim_sweep(session, scope, trigger, _owner(), stale_s).id


def write_with_retry(sessions: sessionmaker[Session], write: Callable[[Session], object]) -> None:
    """Run one write transaction, again on a lock timeout or a concurrent first-state insert."""
    for attempt in range(1, _WRITE_TRIES + 1):
        try:
            with transaction(sessions) as session:
                write(session)
            return
        except (OperationalError, IntegrityError):
            if attempt == _WRITE_TRIES:
                raise
            time.sleep(0.2 * attempt)


@dataclass
class _Run:
    """The moving parts of one sweep in progress."""

    settings: Settings
    sessions: sessionmaker[Session]
    vault: Vault
    sweep_id: int
    plans: dict[int, CheckPlan]
    on_progress: ProgressFn | None
    rules: StateRules = field(init=False)
    buffer: list[CheckRecord] = field(default_factory=list)
    due: list[tuple[float, int, int]] = field(default_factory=list)
    done: set[int] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    checks: int = 0
    cancelling: bool = False
    last_write: float = 0.0

    def __post_init__(self) -> None:
        self.rules = StateRules.from_settings(self.settings)

    def build(self, camera_id: int) -> Build:
        """Return the function that makes a camera's target at dispatch time."""
        return partial(self.plans[camera_id].target, self.vault)

    def finish_camera(self, camera_id: int, status: str) -> None:
        """Count a camera whose result for this sweep is final."""
        if camera_id not in self.done:
            self.done.add(camera_id)
            self.counts[status] += 1

    def write(self) -> None:
        """Store buffered outcomes and progress in one transaction; follow cancellation."""
        batch, self.buffer = self.buffer, []
        cancel = False
        saved = (set(self.done), Counter(self.counts), list(self.due))

        def apply(session: Session) -> None:
            nonlocal cancel
            # A retried transaction starts again from the counts it started from.
            self.done, self.counts, self.due = set(saved[0]), Counter(saved[1]), list(saved[2])
            states = record_checks(session, self.sweep_id, batch, self.rules)
            self._decide(batch, states)
            cancel = record_progress(
                session, self.sweep_id, len(self.plans), len(self.done), self.counts
            )

        try:
            write_with_retry(self.sessions, apply)
        except BaseException:
            self.done, self.counts, self.due = saved
            raise
        self.last_write = time.monotonic()
        if cancel and not self.cancelling:
            self.cancelling = True
        if self.on_progress is not None:
            self.on_progress(len(self.done), len(self.plans), dict(self.counts))

    def _decide(self, batch: Sequence[CheckRecord], states: Mapping[int, StateSnapshot]) -> None:
        """Schedule confirming re-checks of new failures; count the cameras that are final."""
        confirm_at = time.monotonic() + self.settings.confirm_delay_s
        for record in batch:
            snap = states.get(record.camera_id)
            if (
                snap is not None
                and needs_confirmation(snap)
                and record.attempt < self.settings.confirm_attempts
                and not self.cancelling
            ):
                heapq.heappush(self.due, (confirm_at, record.camera_id, record.attempt + 1))
            else:
                self.finish_camera(record.camera_id, record.outcome.status.value)

    def run(self, pool: CheckPool) -> SweepStatus:
        """Check every planned camera, with confirmations, until done or cancelled."""
        options = capture_options(self.settings)
        for camera_id in self.plans:
            pool.submit((camera_id, 1), self.build(camera_id), options)
        self.write()  # total and first heartbeat
        while True:
            now = time.monotonic()
            while self.due and self.due[0][0] <= now and not self.cancelling:
                _, camera_id, attempt = heapq.heappop(self.due)
                pool.submit((camera_id, attempt), self.build(camera_id), options)
            wait_s = 0.25 if not self.due else max(0.0, min(0.25, self.due[0][0] - now))
            for key, outcome in pool.collect(wait_s):
                camera_id, attempt = key
                self.checks += 1
                if outcome is None:
                    self.finish_camera(camera_id, NOT_CHECKED)
                else:
                    self.buffer.append(CheckRecord(camera_id, attempt, outcome))
            since = time.monotonic() - self.last_write
            if len(self.buffer) >= BATCH_SIZE or (
                since >= (FLUSH_INTERVAL_S if self.buffer else HEARTBEAT_INTERVAL_S)
            ):
                self.write()
            if self.cancelling:
                self._stop_early(pool)
            if not pool.pending and not self.due and not self.buffer:
                break
        self.write()
        return SweepStatus.CANCELLED if self.cancelling else SweepStatus.COMPLETED

    def _stop_early(self, pool: CheckPool) -> None:
        """Drop checks not started and pending re-checks; running checks still finish."""
        for key in pool.drop_queued():
            camera_id, _ = key
            self.finish_camera(camera_id, NOT_CHECKED)
        while self.due:
            _, camera_id, _attempt = heapq.heappop(self.due)
            # The failure stays soft; the next sweep confirms or clears it.
            self.finish_camera(camera_id, "unconfirmed")


def sweep_pool_size(settings: Settings, cameras: int, concurrency: int | None = None) -> PoolSize:
    """Return the checker processes and threads a sweep of this many cameras uses."""
    return pool_size(concurrency or settings.concurrency, settings.worker_processes, cameras)


def execute_sweep(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    sweep_id: int,
    *,
    concurrency: int | None = None,
    on_progress: ProgressFn | None = None,
) -> SweepSummary:
    """Run a claimed sweep to its end and close its record; never leaves it running."""
    started = time.monotonic()
    run: _Run | None = None
    status, error = SweepStatus.FAILED, None
    try:
        with sessions() as session:
            scope_path = session.get_one(Sweep, sweep_id).scope_path
            plans = {p.camera_id: p for p in plans_in_scope(session, scope_path)}
        run = _Run(settings, sessions, vault, sweep_id, plans, on_progress)
        if not plans:
            run.write()  # nothing to check: record the empty total
            status = SweepStatus.COMPLETED
        else:
            with CheckPool(sweep_pool_size(settings, len(plans), concurrency)) as pool:
                status = run.run(pool)
    except KeyboardInterrupt:
        status, error = SweepStatus.CANCELLED, "stopped by the operator"
        raise
    except Exception as exc:  # noqa: BLE001 - a failed sweep is recorded, not lost
        error = redact_text(f"{type(exc).__name__}: {exc}")
        log.error("sweep %d failed: %s", sweep_id, error)  # noqa: TRY400 - no traceback: secrets
    finally:
        write_with_retry(sessions, lambda s: finish_sweep(s, sweep_id, status, error))
    return SweepSummary(
        sweep_id=sweep_id,
        status=status,
        total=len(run.plans) if run else 0,
        done=len(run.done) if run else 0,
        counts=dict(run.counts) if run else {},
        checks=run.checks if run else 0,
        elapsed_s=round(time.monotonic() - started, 3),
        error=error,
    )


def run_sweep(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    scope_site_code: str | None = None,
    trigger: str = "manual",
    *,
    concurrency: int | None = None,
    on_progress: ProgressFn | None = None,
    stale_s: float = HEARTBEAT_STALE_S,
) -> SweepSummary:
    """Claim and run a sweep over all cameras or one site's subtree; block until it ends."""
    sweep_id = claim(sessions, scope_site_code, trigger, stale_s)
    return execute_sweep(
        settings, sessions, vault, sweep_id, concurrency=concurrency, on_progress=on_progress
    )


def start_sweep(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    scope_site_code: str | None = None,
    trigger: str = "manual",
    *,
    concurrency: int | None = None,
) -> int:
    """Claim a sweep, run it on a background thread, and return its id at once."""
    sweep_id = claim(sessions, scope_site_code, trigger)
    thread = threading.Thread(
        target=execute_sweep,
        args=(settings, sessions, vault, sweep_id),
        kwargs={"concurrency": concurrency},
        name=f"sweep-{sweep_id}",
        daemon=True,
    )
    thread.start()
    return sweep_id


def check_cameras_now(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    camera_ids: Sequence[int],
    *,
    confirm: bool = False,
) -> list[CheckOutcome]:
    """Check cameras at once, store the results (no sweep) and return outcomes in order given.

    Answers within about one check deadline (plus the checker's start-up). With confirm=True a
    failure is re-checked once after the confirm delay, adding one more deadline at most.
    Unknown camera ids are left out.
    """
    with sessions() as session:
        plans = {p.camera_id: p for p in plans_for(session, camera_ids)}
    if not plans:
        return []
    rules = StateRules.from_settings(settings)
    options = capture_options(settings)
    outcomes: dict[int, CheckOutcome] = {}
    size = pool_size(settings.concurrency, 1, len(plans))
    with CheckPool(size) as pool:
        todo = list(plans)
        attempt = 1
        while todo:
            results = _check_all(pool, plans, todo, attempt, vault, options)
            outcomes.update(results)
            records = [CheckRecord(cid, attempt, o) for cid, o in results.items()]
            states = store_outside_sweep(sessions, records, rules)
            if not confirm or attempt >= max(2, settings.confirm_attempts):
                break
            todo = [cid for cid, snap in states.items() if needs_confirmation(snap)]
            attempt += 1
            if todo:
                time.sleep(settings.confirm_delay_s)
    return [outcomes[cid] for cid in dict.fromkeys(camera_ids) if cid in outcomes]


def store_outside_sweep(
    sessions: sessionmaker[Session], records: Sequence[CheckRecord], rules: StateRules
) -> dict[int, StateSnapshot]:
    """Store outcomes of checks run outside a sweep; return the cameras' new states."""
    states: dict[int, StateSnapshot] = {}

    def store(session: Session) -> None:
        states.clear()
        states.update(record_checks(session, None, records, rules))

    write_with_retry(sessions, store)
    return states


def _check_all(
    pool: CheckPool,
    plans: Mapping[int, CheckPlan],
    camera_ids: Sequence[int],
    attempt: int,
    vault: Vault,
    options: CaptureOptions,
) -> dict[int, CheckOutcome]:
    """Run one check of each camera on the pool and return the outcomes."""
    for cid in camera_ids:
        plan = plans[cid]
        pool.submit((cid, attempt), partial(plan.target, vault), options)
    results: dict[int, CheckOutcome] = {}
    while pool.pending:
        for key, outcome in pool.collect(0.25):
            cid = key[0]
            results[cid] = outcome or failed_outcome(
                cid, "checker_lost", "the checker process stopped during the check"
            )
    return results
