"""Readiness rules as DESIGN.md defines them, on plain rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from camfleet.readiness import CameraView, precinct_readiness, rollup
from camfleet.status import Readiness, Status

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
FRESH = NOW - timedelta(minutes=10)
HOUR = 3600.0


def cam(
    i: int, status: Status | None, at: datetime | None = FRESH, enabled: bool = True
) -> CameraView:
    return CameraView(i, f"cam{i}", enabled, status, at)


def test_all_ok_and_fresh_is_ready() -> None:
    r = precinct_readiness([cam(1, Status.OK), cam(2, Status.OK)], 2, NOW, HOUR)
    assert r.state is Readiness.READY
    assert r.reasons == ()


def test_warning_is_degraded() -> None:
    r = precinct_readiness([cam(1, Status.OK), cam(2, Status.BLURRED)], 2, NOW, HOUR)
    assert r.state is Readiness.DEGRADED
    assert r.reasons[0].code == "blurred"


def test_critical_is_not_ready() -> None:
    r = precinct_readiness([cam(1, Status.OK), cam(2, Status.FROZEN)], 2, NOW, HOUR)
    assert r.state is Readiness.NOT_READY
    assert r.worst_status is Status.FROZEN


def test_missing_cameras_are_a_reason_of_their_own() -> None:
    r = precinct_readiness([cam(1, Status.OK)], 2, NOW, HOUR)
    assert r.state is Readiness.NOT_READY
    assert r.reasons[0].code == "missing_cameras"


def test_disabled_camera_counts_as_missing() -> None:
    r = precinct_readiness([cam(1, Status.OK), cam(2, Status.OK, enabled=False)], 2, NOW, HOUR)
    assert r.state is Readiness.NOT_READY


def test_stale_is_unknown_never_ok() -> None:
    old = NOW - timedelta(seconds=2 * HOUR + 1)
    r = precinct_readiness([cam(1, Status.OK), cam(2, Status.OK, at=old)], 2, NOW, HOUR)
    assert r.state is Readiness.UNKNOWN
    edge = NOW - timedelta(seconds=2 * HOUR)
    assert precinct_readiness([cam(1, Status.OK, at=edge)], 1, NOW, HOUR).state is Readiness.READY


def test_never_checked_is_unknown() -> None:
    assert precinct_readiness([cam(1, None, at=None)], 1, NOW, HOUR).state is Readiness.UNKNOWN


def test_rollup_counts_and_percentages() -> None:
    r = rollup([Readiness.READY, Readiness.READY, Readiness.NOT_READY, Readiness.UNKNOWN])
    assert r.total == 4
    assert r.counts[Readiness.READY] == 2
    assert r.percentages()[Readiness.READY] == 50.0
    assert rollup([]).percentages()[Readiness.READY] == 0.0
