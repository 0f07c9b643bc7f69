"""Readiness rules: pure functions from camera states to precinct and rollup readiness."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from camfleet.status import Readiness, Severity, Status, rank, severity

STALE_FACTOR = 2


@dataclass(frozen=True)
class CameraView:
    """What readiness needs to know about one registered camera."""

    camera_id: int
    name: str
    enabled: bool
    hard_status: Status | None  # None: never checked
    last_check_at: datetime | None


@dataclass(frozen=True)
class ReadinessReason:
    """Why a precinct is not ready (or degraded): a code, the camera, and a sentence."""

    code: str
    message: str
    camera_id: int | None = None


@dataclass(frozen=True)
class PrecinctReadiness:
    """The derived readiness of one precinct."""

    state: Readiness
    reasons: tuple[ReadinessReason, ...]
    cameras_expected: int
    cameras_registered: int
    cameras_ok: int
    worst_status: Status | None
    oldest_check_at: datetime | None


def is_stale(last_check_at: datetime | None, now: datetime, sweep_interval_s: float) -> bool:
    """Return whether a check is too old to count (older than 2 × the sweep interval)."""
    if last_check_at is None:
        return True
    return now - last_check_at > timedelta(seconds=STALE_FACTOR * sweep_interval_s)


def precinct_readiness(
    cameras: Sequence[CameraView],
    expected: int,
    now: datetime,
    sweep_interval_s: float,
) -> PrecinctReadiness:
    """Derive a precinct's readiness as DESIGN.md defines it.

    ready: all expected cameras registered, enabled, hard ok, fresh; degraded: as ready but with
    warnings; not_ready: a critical camera, or fewer cameras than expected; unknown: no fresh data.
    """
    reasons: list[ReadinessReason] = []
    active = [c for c in cameras if c.enabled]
    critical = False
    warning = False
    unknown = False
    ok_count = 0
    worst_status: Status | None = None
    oldest: datetime | None = None
    for cam in active:
        if cam.last_check_at is not None and (oldest is None or cam.last_check_at < oldest):
            oldest = cam.last_check_at
        if cam.hard_status is None or is_stale(cam.last_check_at, now, sweep_interval_s):
            unknown = True
            why = "never checked" if cam.hard_status is None else "no fresh check"
            reasons.append(ReadinessReason("stale", f"{cam.name}: {why}", cam.camera_id))
            continue
        if worst_status is None or rank(cam.hard_status) < rank(worst_status):
            worst_status = cam.hard_status
        sev = severity(cam.hard_status)
        if sev is Severity.CRITICAL:
            critical = True
            reasons.append(
                ReadinessReason(
                    cam.hard_status.value,
                    f"{cam.name}: {cam.hard_status}",
                    cam.camera_id,
                )
            )
        elif sev is Severity.WARNING:
            warning = True
            ok_count += 1
            reasons.append(
                ReadinessReason(
                    cam.hard_status.value,
                    f"{cam.name}: {cam.hard_status}",
                    cam.camera_id,
                )
            )
        else:
            ok_count += 1
    disabled = len(cameras) - len(active)
    if disabled:
        reasons.append(ReadinessReason("disabled", f"{disabled} camera(s) disabled"))
    short = expected - len(active)
    if short > 0:
        critical = True
        reasons.insert(
            0,
            ReadinessReason(
                "missing_cameras",
                f"{len(active)} of {expected} expected cameras registered",
            ),
        )
    if critical:
        state = Readiness.NOT_READY
    elif unknown:
        state = Readiness.UNKNOWN
    elif warning:
        state = Readiness.DEGRADED
    else:
        state = Readiness.READY
    return PrecinctReadiness(
        state=state,
        reasons=tuple(reasons),
        cameras_expected=expected,
        cameras_registered=len(cameras),
        cameras_ok=ok_count,
        worst_status=worst_status,
        oldest_check_at=oldest,
    )


@dataclass
class Rollup:
    """Counts and percentages of precincts in each readiness state under one site."""

    total: int = 0
    counts: dict[Readiness, int] = field(default_factory=lambda: dict.fromkeys(Readiness, 0))

    def add(self, state: Readiness) -> None:
        """Count one precinct."""
        self.total += 1
        self.counts[state] += 1

    def percentages(self) -> dict[Readiness, float]:
        """Return the share of precincts in each state, in percent (0 for an empty rollup)."""
        if not self.total:
            return dict.fromkeys(Readiness, 0.0)
        return {k: round(100.0 * v / self.total, 2) for k, v in self.counts.items()}


def rollup(states: Iterable[Readiness]) -> Rollup:
    """Count precinct states into a rollup."""
    out = Rollup()
    for s in states:
        out.add(s)
    return out


_STATE_ORDER = {
    Readiness.NOT_READY: 0,
    Readiness.UNKNOWN: 1,
    Readiness.DEGRADED: 2,
    Readiness.READY: 3,
}


def not_ready_sort_key(r: PrecinctReadiness, code: str) -> tuple[int, int, float, str]:
    """Sort key for the not-ready list: worst state, worst status, oldest data first."""
    status_rank = rank(r.worst_status) if r.worst_status is not None else len(Status)
    if any(x.code == "missing_cameras" for x in r.reasons):
        status_rank = -1
    oldest = r.oldest_check_at.timestamp() if r.oldest_check_at else 0.0
    return (_STATE_ORDER[r.state], status_rank, oldest, code)
