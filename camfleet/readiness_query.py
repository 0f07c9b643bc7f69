"""Load camera states from the database and derive readiness for every precinct and its ancestors.

One query joins sites, cameras and camera_states for all precincts; everything else (precinct
rules, rollups, the worst-first order) happens in Python on the rows, so a national register costs
a single round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from camfleet.models import Camera, CameraState, Site, SiteLevel
from camfleet.readiness import (
    CameraView,
    PrecinctReadiness,
    Rollup,
    not_ready_sort_key,
    precinct_readiness,
)
from camfleet.status import Readiness, Status

_STATUS_BY_VALUE = {s.value: s for s in Status}


@dataclass(frozen=True)
class SiteInfo:
    """The identity of a site as readiness reports show it."""

    site_id: int
    code: str
    name: str
    level: str
    path: str


@dataclass(frozen=True)
class PrecinctEntry:
    """One precinct and its derived readiness."""

    site: SiteInfo
    readiness: PrecinctReadiness

    @property
    def ancestor_codes(self) -> list[str]:
        """Return the codes of the precinct's ancestors, top down."""
        return self.site.path.strip("/").split("/")[:-1]


@dataclass
class ReadinessSnapshot:
    """Readiness of every precinct at one moment, with rollups and worst-first lists per site."""

    computed_at: datetime
    sites: dict[str, SiteInfo]
    # Every precinct, worst and oldest first.
    precincts: list[PrecinctEntry]
    rollups: dict[str, Rollup] = field(default_factory=dict)
    by_code: dict[str, PrecinctEntry] = field(default_factory=dict)
    # Per site code: its precincts in worst-first order (the site itself for a precinct).
    under: dict[str, list[PrecinctEntry]] = field(default_factory=dict)

    def rollup_of(self, code: str) -> Rollup:
        """Return the rollup of a site (empty when it has no precincts)."""
        return self.rollups.get(code) or Rollup()

    def precincts_under(self, code: str | None) -> list[PrecinctEntry]:
        """Return the precincts under a site (all for None), worst and oldest first."""
        if code is None:
            return self.precincts
        return self.under.get(code, [])


def camera_view(
    camera_id: int,
    name: str,
    enabled: bool,
    hard_status: str | None,
    last_check_at: datetime | None,
) -> CameraView:
    """Return the readiness view of one camera row; an unknown stored status counts as unchecked."""
    status = _STATUS_BY_VALUE.get(hard_status) if hard_status is not None else None
    return CameraView(camera_id, name, enabled, status, last_check_at if status else None)


def _precinct_rows(session: Session, scope_path: str) -> Iterable[Any]:
    query = (
        select(
            Site.id,
            Site.code,
            Site.name,
            Site.path,
            Site.expected_cameras,
            Camera.id,
            Camera.name,
            Camera.enabled,
            CameraState.hard_status,
            CameraState.last_check_at,
        )
        .select_from(Site)
        .outerjoin(Camera, Camera.site_id == Site.id)
        .outerjoin(CameraState, CameraState.camera_id == Camera.id)
        .where(Site.level == SiteLevel.PRECINCT.value)
    )
    if scope_path != "/":
        query = query.where(Site.path.startswith(scope_path, autoescape=True))
    return session.execute(query)


def load_snapshot(
    session: Session,
    now: datetime,
    sweep_interval_s: float,
    scope_path: str = "/",
) -> ReadinessSnapshot:
    """Read the tree and current camera states once and derive readiness for every precinct."""
    site_query = select(Site.id, Site.code, Site.name, Site.level, Site.path)
    if scope_path != "/":
        site_query = site_query.where(Site.path.startswith(scope_path, autoescape=True))
    sites = {
        code: SiteInfo(sid, code, name, level, path)
        for sid, code, name, level, path in session.execute(site_query)
    }
    cameras: dict[str, list[CameraView]] = {}
    expected: dict[str, int] = {}
    for sid, code, name, path, exp, cam_id, cam_name, enabled, hard, last in _precinct_rows(
        session, scope_path
    ):
        if code not in sites:
            sites[code] = SiteInfo(sid, code, name, SiteLevel.PRECINCT.value, path)
        expected[code] = exp or 0
        views = cameras.setdefault(code, [])
        if cam_id is not None:
            views.append(camera_view(cam_id, cam_name, bool(enabled), hard, last))
    entries = [
        PrecinctEntry(sites[code], precinct_readiness(views, expected[code], now, sweep_interval_s))
        for code, views in cameras.items()
    ]
    return build_snapshot(now, sites, entries)


def build_snapshot(
    now: datetime, sites: dict[str, SiteInfo], entries: Sequence[PrecinctEntry]
) -> ReadinessSnapshot:
    """Sort precincts worst first and roll them up into every ancestor."""
    ordered = sorted(entries, key=lambda e: not_ready_sort_key(e.readiness, e.site.code))
    snap = ReadinessSnapshot(computed_at=now, sites=sites, precincts=ordered)
    for entry in ordered:
        code = entry.site.code
        snap.by_code[code] = entry
        snap.under[code] = [entry]
        for ancestor in entry.ancestor_codes:
            snap.under.setdefault(ancestor, []).append(entry)
            roll = snap.rollups.get(ancestor)
            if roll is None:
                roll = snap.rollups[ancestor] = Rollup()
            roll.add(entry.readiness.state)
        own = snap.rollups[code] = Rollup()
        own.add(entry.readiness.state)
    return snap


@dataclass(frozen=True)
class CameraDetail:
    """One camera of a precinct with its current state, as the precinct page shows it."""

    camera: Camera
    state: CameraState | None


def load_precinct(
    session: Session, site: Site, now: datetime, sweep_interval_s: float
) -> tuple[PrecinctReadiness, list[CameraDetail]]:
    """Read one precinct's cameras and states fresh from the database and derive its readiness."""
    rows = session.execute(
        select(Camera, CameraState)
        .outerjoin(CameraState, CameraState.camera_id == Camera.id)
        .where(Camera.site_id == site.id)
        .order_by(Camera.name)
    )
    details = [CameraDetail(cam, state) for cam, state in rows]
    views = [
        camera_view(
            d.camera.id,
            d.camera.name,
            d.camera.enabled,
            d.state.hard_status if d.state else None,
            d.state.last_check_at if d.state else None,
        )
        for d in details
    ]
    return precinct_readiness(views, site.expected_cameras or 0, now, sweep_interval_s), details


def state_of(snapshot: ReadinessSnapshot, code: str) -> Readiness | None:
    """Return a precinct's state in a snapshot, or None when it is not a known precinct."""
    entry = snapshot.by_code.get(code)
    return entry.readiness.state if entry else None
