"""Load camera states from the database and derive readiness for every precinct and its ancestors.

One query joins sites, cameras and camera_states for all precincts; everything else (precinct
rules, rollups, the worst-first order) happens in Python on the rows, so a national register costs
a single round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camfleet.models import Camera, CameraState, Site, SiteLevel
from camfleet.readiness import (
    STALE_FACTOR,
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
    # Per site code: its precincts in worst-first order.
    under: dict[str, list[PrecinctEntry]] = field(default_factory=dict)
    # Per level: its sites in tree (path) order.
    levels: dict[str, list[SiteInfo]] = field(default_factory=dict)

    def rollup_of(self, code: str) -> Rollup:
        """Return the rollup of a site (empty when it has no precincts)."""
        return self.rollups.get(code) or Rollup()

    def precincts_under(self, code: str | None) -> list[PrecinctEntry]:
        """Return the precincts under a site (all for None), worst and oldest first."""
        if code is None:
            return self.precincts
        return self.under.get(code, [])

    def sites_at(self, level: str) -> list[SiteInfo]:
        """Return the sites of one level in tree order."""
        return self.levels.get(level, [])


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


_Row = tuple[int, str, bool, str | None, datetime | None]


class _AllOkMemo:
    """Readiness of precincts whose every camera is enabled, hard ok and fresh.

    Such a result depends only on the expected and registered counts (no reasons name a
    camera), so it is derived once per count pair by the rules themselves and reused with the
    precinct's own oldest check time: most of a healthy fleet needs no rule evaluation.
    """

    def __init__(self, now: datetime, sweep_interval_s: float) -> None:
        self.now = now
        self.interval = sweep_interval_s
        self.cutoff = now - timedelta(seconds=STALE_FACTOR * sweep_interval_s)
        self._memo: dict[tuple[int, int], PrecinctReadiness] = {}

    def all_ok(self, rows: list[_Row]) -> bool:
        """Return whether every camera row is enabled, hard ok and fresh."""
        cutoff = self.cutoff
        return all(
            enabled and hard == "ok" and last is not None and last >= cutoff
            for _, _, enabled, hard, last in rows
        )

    def readiness(self, rows: list[_Row], expected: int) -> PrecinctReadiness:
        """Return the readiness of an all-ok precinct."""
        key = (expected, len(rows))
        base = self._memo.get(key)
        if base is None:
            views = [CameraView(i, "", True, Status.OK, self.now) for i in range(len(rows))]
            base = self._memo[key] = precinct_readiness(views, expected, self.now, self.interval)
        oldest = min(row[4] for row in rows if row[4] is not None)
        return PrecinctReadiness(
            base.state,
            base.reasons,
            base.cameras_expected,
            base.cameras_registered,
            base.cameras_ok,
            base.worst_status,
            oldest,
        )


def precinct_from_rows(
    rows: list[_Row], expected: int, now: datetime, sweep_interval_s: float
) -> PrecinctReadiness:
    """Derive one precinct's readiness from its camera rows with the core rules."""
    views = [camera_view(*row) for row in rows]
    return precinct_readiness(views, expected, now, sweep_interval_s)


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
    cameras: dict[str, list[_Row]] = {}
    expected: dict[str, int] = {}
    for sid, code, name, path, exp, cam_id, cam_name, enabled, hard, last in _precinct_rows(
        session, scope_path
    ):
        rows = cameras.get(code)
        if rows is None:
            rows = cameras[code] = []
            expected[code] = exp or 0
            if code not in sites:
                sites[code] = SiteInfo(sid, code, name, SiteLevel.PRECINCT.value, path)
        if cam_id is not None:
            rows.append((cam_id, cam_name, bool(enabled), hard, last))
    memo = _AllOkMemo(now, sweep_interval_s)
    entries = []
    for code, rows in cameras.items():
        if rows and memo.all_ok(rows):
            readiness = memo.readiness(rows, expected[code])
        else:
            readiness = precinct_from_rows(rows, expected[code], now, sweep_interval_s)
        entries.append(PrecinctEntry(sites[code], readiness))
    return build_snapshot(now, sites, entries)


def build_snapshot(
    now: datetime, sites: dict[str, SiteInfo], entries: Sequence[PrecinctEntry]
) -> ReadinessSnapshot:
    """Sort precincts worst first and roll them up into every ancestor."""
    head: dict[tuple[Readiness, Status | None, bool], tuple[int, int]] = {}

    def sort_key(e: PrecinctEntry) -> tuple[int, int, float, str]:
        r = e.readiness
        missing = bool(r.reasons) and r.reasons[0].code == "missing_cameras"
        part = head.get((r.state, r.worst_status, missing))
        if part is None:
            full = not_ready_sort_key(r, e.site.code)
            part = head[(r.state, r.worst_status, missing)] = (full[0], full[1])
        oldest = r.oldest_check_at.timestamp() if r.oldest_check_at else 0.0
        return (part[0], part[1], oldest, e.site.code)

    ordered = sorted(entries, key=sort_key)
    snap = ReadinessSnapshot(computed_at=now, sites=sites, precincts=ordered)
    counts: dict[str, dict[Readiness, int]] = {}
    under = snap.under
    for entry in ordered:
        code = entry.site.code
        snap.by_code[code] = entry
        state = entry.readiness.state
        under[code] = [entry]
        ancestors = entry.ancestor_codes
        for ancestor in ancestors:
            members = under.get(ancestor)
            if members is None:
                members = under[ancestor] = []
            members.append(entry)
        for ancestor in (*ancestors, code):
            tally = counts.get(ancestor)
            if tally is None:
                tally = counts[ancestor] = dict.fromkeys(Readiness, 0)
            tally[state] += 1
    for code, tally in counts.items():
        snap.rollups[code] = Rollup(total=sum(tally.values()), counts=tally)
    for site in sorted(sites.values(), key=lambda s: s.path):
        snap.levels.setdefault(site.level, []).append(site)
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


def data_version(session: Session) -> tuple[object, ...]:
    """Return a cheap fingerprint that changes whenever readiness inputs change."""
    states = session.execute(
        select(func.count(), func.max(CameraState.last_check_at), func.max(CameraState.camera_id))
    ).one()
    cameras = session.execute(
        select(func.count(), func.max(Camera.updated_at), func.sum(Camera.site_id))
    ).one()
    sites = session.execute(select(func.count(), func.max(Site.updated_at))).one()
    return (*states, *cameras, *sites)
