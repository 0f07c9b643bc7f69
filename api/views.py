"""Turn core objects into public models (the only place that decides what a response shows)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Response

from api.schemas import (
    CameraPublic,
    CameraReadiness,
    CameraStatePublic,
    CheckPublic,
    DiscoveryRunPublic,
    PrecinctSummary,
    ProfilePublic,
    ReasonPublic,
    SitePublic,
    SiteRollupPublic,
    StateCounts,
    StatePercentages,
    SweepPublic,
)
from camfleet.models import Camera, CameraState, CheckResult, DiscoveryRun, Site, Sweep
from camfleet.readiness import PrecinctReadiness, Rollup, is_stale
from camfleet.readiness_query import SiteInfo
from camfleet.redact import redact_url


def site_public(site: Site, parent_code: str | None) -> SitePublic:
    """Return the public view of a site."""
    return SitePublic(
        code=site.code,
        name=site.name,
        level=site.level,
        parent_code=parent_code,
        path=site.path,
        address=site.address,
        expected_cameras=site.expected_cameras,
        contact_person=site.contact_person,
        contact_role=site.contact_role,
        contact_phone=site.contact_phone,
        network=site.network,
    )


def parent_code_of(path: str) -> str | None:
    """Return the parent's code from a materialised path."""
    codes = path.strip("/").split("/")
    return codes[-2] if len(codes) > 1 else None


def rollup_public(site: SiteInfo, roll: Rollup) -> SiteRollupPublic:
    """Return the public view of a site's rollup."""
    pct = roll.percentages()
    return SiteRollupPublic(
        code=site.code,
        name=site.name,
        level=site.level,
        path=site.path,
        total=roll.total,
        counts=StateCounts(**{k.value: v for k, v in roll.counts.items()}),
        percentages=StatePercentages(**{k.value: v for k, v in pct.items()}),
    )


def precinct_summary(site: SiteInfo, r: PrecinctReadiness) -> PrecinctSummary:
    """Return the public view of a precinct's readiness."""
    return PrecinctSummary(
        code=site.code,
        name=site.name,
        path=site.path,
        state=r.state,
        reasons=[
            ReasonPublic(code=x.code, message=x.message, camera_id=x.camera_id) for x in r.reasons
        ],
        cameras_expected=r.cameras_expected,
        cameras_registered=r.cameras_registered,
        cameras_ok=r.cameras_ok,
        worst_status=r.worst_status,
        oldest_check_at=r.oldest_check_at,
    )


def state_public(state: CameraState, now: datetime, sweep_interval_s: float) -> CameraStatePublic:
    """Return the public view of a camera's current state."""
    return CameraStatePublic(
        status=state.status,
        hard_status=state.hard_status,
        state_type=state.state_type,
        attempt=state.attempt,
        reasons=list(state.reasons or []),
        measurements=dict(state.measurements or {}),
        last_check_at=state.last_check_at,
        last_change_at=state.last_change_at,
        last_ok_at=state.last_ok_at,
        flapping=state.flapping,
        stale=is_stale(state.last_check_at, now, sweep_interval_s),
        thumbnail_at=state.thumbnail_at,
    )


def thumbnail_url(camera_id: int, state: CameraState | None) -> str | None:
    """Return the URL of a camera's latest thumbnail, if it has one."""
    if state is None or state.thumbnail_at is None:
        return None
    return f"/api/v1/cameras/{camera_id}/thumbnail"


def camera_readiness(
    camera: Camera, state: CameraState | None, now: datetime, sweep_interval_s: float
) -> CameraReadiness:
    """Return one camera's current state as the precinct view shows it."""
    return CameraReadiness(
        id=camera.id,
        name=camera.name,
        enabled=camera.enabled,
        status=state.status if state else None,
        hard_status=state.hard_status if state else None,
        state_type=state.state_type if state else None,
        last_check_at=state.last_check_at if state else None,
        stale=is_stale(state.last_check_at if state else None, now, sweep_interval_s),
        flapping=state.flapping if state else False,
        reasons=list(state.reasons or []) if state else [],
        measurements=dict(state.measurements or {}) if state else {},
        thumbnail_url=thumbnail_url(camera.id, state),
    )


def camera_public(
    camera: Camera,
    site_code: str,
    credential_username: str | None,
    has_reference: bool,
    now: datetime,
    sweep_interval_s: float,
) -> CameraPublic:
    """Return the public view of a camera: identity, profiles and state, never a password."""
    state = camera.state
    return CameraPublic(
        id=camera.id,
        site_code=site_code,
        name=camera.name,
        source=camera.source,
        endpoint_uuid=camera.endpoint_uuid,
        manufacturer=camera.manufacturer,
        model=camera.model,
        firmware=camera.firmware,
        serial=camera.serial,
        mac=camera.mac,
        hardware_id=camera.hardware_id,
        host=camera.host,
        onvif_address=redact_url(camera.onvif_address) if camera.onvif_address else None,
        snapshot_uri=redact_url(camera.snapshot_uri) if camera.snapshot_uri else None,
        main_profile_token=camera.main_profile_token,
        check_profile_token=camera.check_profile_token,
        clock_skew_s=camera.clock_skew_s,
        enabled=camera.enabled,
        credential_username=credential_username,
        thresholds=dict(camera.thresholds or {}),
        registered_at=camera.registered_at,
        last_seen_at=camera.last_seen_at,
        has_reference=has_reference,
        profiles=[
            ProfilePublic(
                token=p.token,
                name=p.name,
                encoding=p.encoding,
                width=p.width,
                height=p.height,
                fps=p.fps,
                stream_uri=redact_url(p.stream_uri) if p.stream_uri else None,
            )
            for p in camera.profiles
        ],
        state=state_public(state, now, sweep_interval_s) if state else None,
    )


def check_public(row: CheckResult) -> CheckPublic:
    """Return the public view of one recorded check."""
    return CheckPublic(
        id=row.id,
        camera_id=row.camera_id,
        sweep_id=row.sweep_id,
        attempt=row.attempt,
        started_at=row.started_at,
        duration_ms=row.duration_ms,
        status=row.status,
        severity=row.severity,
        reasons=list(row.reasons or []),
        measurements=dict(row.measurements or {}),
    )


def sweep_public(sweep: Sweep, scope_site_code: str | None) -> SweepPublic:
    """Return the public view of a sweep and its progress."""
    return SweepPublic(
        id=sweep.id,
        scope_site_code=scope_site_code,
        scope_path=sweep.scope_path,
        trigger=sweep.trigger,
        status=sweep.status,
        total=sweep.total,
        done=sweep.done,
        progress=round(min(1.0, sweep.done / sweep.total), 4) if sweep.total else 0.0,
        counts=dict(sweep.counts or {}),
        cancel_requested=sweep.cancel_requested,
        started_at=sweep.started_at,
        heartbeat_at=sweep.heartbeat_at,
        finished_at=sweep.finished_at,
        error=sweep.error,
    )


def discovery_public(run: DiscoveryRun, site_code: str) -> DiscoveryRunPublic:
    """Return the public view of a discovery run."""
    return DiscoveryRunPublic(
        id=run.id,
        site_code=site_code,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        results=list(run.results or []),
        error=run.error,
    )


JPEG_CONTENT = {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}


def jpeg_response(jpeg: bytes) -> Response:
    """Return a stored JPEG (thumbnail or reference frame), never cached by the browser."""
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
