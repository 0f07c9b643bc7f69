"""Prometheus metrics on a private registry, read from the database at scrape time.

Camera states, sweep progress and check durations come from the tables, so the figures are the
same whichever process (embedded scheduler or Celery worker) did the work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from camfleet.models import Camera, CameraState, CheckResult, Site, Sweep

# Check durations in seconds; a check is bounded by the deadline (8 s by default).
DURATION_BUCKETS_S = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 15.0, 30.0)
SCRAPE_CACHE_S = 5.0


@dataclass(frozen=True)
class _Figures:
    states: list[tuple[str, str, int]]  # district, hard status, cameras
    unchecked: list[tuple[str, int]]  # district, cameras without a state
    buckets: list[int]  # cumulative counts per DURATION_BUCKETS_S
    check_count: int
    check_sum_s: float
    running: list[tuple[int, int, int]]  # sweep id, done, total
    last_success: float | None


def _district_of(path: str) -> str:
    codes = path.strip("/").split("/")
    return codes[1] if len(codes) > 1 else codes[0]


def read_figures(session: Session) -> _Figures:
    """Read every figure the metrics show, in a handful of aggregate queries."""
    states: dict[tuple[str, str], int] = {}
    unchecked: dict[str, int] = {}
    rows = session.execute(
        select(Site.path, CameraState.hard_status, func.count(Camera.id))
        .select_from(Camera)
        .join(Site, Camera.site_id == Site.id)
        .outerjoin(CameraState, CameraState.camera_id == Camera.id)
        .where(Camera.enabled.is_(True))
        .group_by(Site.path, CameraState.hard_status)
    )
    for path, status, n in rows:
        district = _district_of(path)
        if status is None:
            unchecked[district] = unchecked.get(district, 0) + n
        else:
            states[(district, status)] = states.get((district, status), 0) + n
    bucket_cols = [
        func.coalesce(func.sum(case((CheckResult.duration_ms <= int(b * 1000), 1), else_=0)), 0)
        for b in DURATION_BUCKETS_S
    ]
    agg = session.execute(
        select(
            func.count(CheckResult.id),
            func.coalesce(func.sum(CheckResult.duration_ms), 0),
            *bucket_cols,
        )
    ).one()
    running = [
        (sid, done, total)
        for sid, done, total in session.execute(
            select(Sweep.id, Sweep.done, Sweep.total).where(Sweep.status == "running")
        )
    ]
    last = session.scalar(
        select(func.max(Sweep.finished_at)).where(
            and_(Sweep.status == "completed", Sweep.error.is_(None))
        )
    )
    return _Figures(
        states=[(d, s, n) for (d, s), n in sorted(states.items())],
        unchecked=sorted(unchecked.items()),
        buckets=[int(x) for x in agg[2:]],
        check_count=int(agg[0]),
        check_sum_s=float(agg[1]) / 1000.0,
        running=running,
        last_success=last.timestamp() if last is not None else None,
    )


class FleetCollector(Collector):
    """Collect fleet figures from the database, at most once per few seconds."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._cached: tuple[float, _Figures] | None = None

    def _figures(self) -> _Figures:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < SCRAPE_CACHE_S:
                return self._cached[1]
            with self._sessions() as session:
                figures = read_figures(session)
            self._cached = (time.monotonic(), figures)
            return figures

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families."""
        f = self._figures()
        cams = GaugeMetricFamily(
            "camfleet_cameras",
            "Enabled cameras per district and confirmed status (unchecked: never checked)",
            labels=["district", "status"],
        )
        for district, status, n in f.states:
            cams.add_metric([district, status], n)
        for district, n in f.unchecked:
            cams.add_metric([district, "unchecked"], n)
        yield cams
        hist = HistogramMetricFamily(
            "camfleet_check_duration_seconds", "Duration of recorded camera checks"
        )
        buckets = [(str(b), float(n)) for b, n in zip(DURATION_BUCKETS_S, f.buckets, strict=True)]
        buckets.append(("+Inf", float(f.check_count)))
        hist.add_metric([], buckets, f.check_sum_s)
        yield hist
        checks = CounterMetricFamily("camfleet_checks", "Camera checks recorded")
        checks.add_metric([], f.check_count)
        yield checks
        done = GaugeMetricFamily(
            "camfleet_sweep_done", "Cameras checked so far by a running sweep", labels=["sweep"]
        )
        total = GaugeMetricFamily(
            "camfleet_sweep_total", "Cameras a running sweep will check", labels=["sweep"]
        )
        for sid, d, t in f.running:
            done.add_metric([str(sid)], d)
            total.add_metric([str(sid)], t)
        yield done
        yield total
        yield GaugeMetricFamily(
            "camfleet_sweeps_running", "Sweeps in progress", value=len(f.running)
        )
        last = GaugeMetricFamily(
            "camfleet_last_successful_sweep_timestamp_seconds",
            "When the last sweep finished without error (Unix time; 0 for never)",
        )
        last.add_metric([], f.last_success or 0.0)
        yield last


def make_registry(sessions: sessionmaker[Session]) -> CollectorRegistry:
    """Return a private registry holding the fleet collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(sessions))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """Return the registry in the Prometheus text format."""
    return generate_latest(registry)
