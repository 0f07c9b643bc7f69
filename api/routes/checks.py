"""On-demand checks: one camera, or every camera of a precinct (the installer's verify)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from api.context import ApiContext
from api.deps import ContextDep, PrincipalDep
from api.errors import WRITE_RESPONSES, ApiError, ErrorBody
from api.paging import CodePath, IdPath
from api.ratelimit import retry_after_header
from api.schemas import CheckRun
from api.scope import camera_in_scope, require_action, site_in_scope
from api.views import camera_readiness, check_public, precinct_summary
from camfleet.models import Camera, CameraState, CheckResult, Site, SiteLevel
from camfleet.readiness_query import SiteInfo, load_precinct
from camfleet.timeutil import utcnow
from camfleet.tokens import Principal
from health.sweep import check_cameras_now

router = APIRouter(
    tags=["checks"],
    responses={
        **WRITE_RESPONSES,
        429: {"model": ErrorBody, "description": "Too many on-demand checks for this token"},
    },
)

# A precinct has a handful of cameras; a bigger on-demand batch belongs in a sweep.
MAX_CAMERAS_PER_CHECK = 64


def take_rate(ctx: ApiContext, principal: Principal) -> None:
    wait_s = ctx.limiter.acquire(principal.token_id)
    if wait_s > 0:
        raise ApiError(
            429,
            f"at most {ctx.settings.check_rate_per_minute} on-demand checks per minute",
            details={"retry_after_s": round(wait_s, 1)},
            headers={"Retry-After": retry_after_header(wait_s)},
        )


def _run_and_report(ctx: ApiContext, site_id: int, camera_ids: Sequence[int]) -> CheckRun:
    """Check the cameras now, then read back their checks and the precinct's readiness."""
    check_cameras_now(ctx.settings, ctx.sessions, ctx.vault, list(camera_ids))
    ctx.readiness.invalidate()
    with ctx.sessions() as session:
        site = session.get(Site, site_id)
        assert site is not None
        check_ids = session.scalars(
            select(CameraState.last_check_id).where(CameraState.camera_id.in_(camera_ids))
        ).all()
        checks = session.scalars(
            select(CheckResult)
            .where(CheckResult.id.in_([c for c in check_ids if c is not None]))
            .order_by(CheckResult.camera_id)
        ).all()
        now = utcnow()
        interval = ctx.settings.sweep_interval_s
        readiness, details = load_precinct(session, site, now, interval)
        wanted = set(camera_ids)
        return CheckRun(
            checks=[check_public(c) for c in checks],
            cameras=[
                camera_readiness(d.camera, d.state, now, interval)
                for d in details
                if d.camera.id in wanted
            ],
            readiness=precinct_summary(
                SiteInfo(site.id, site.code, site.name, site.level, site.path), readiness
            ),
        )


@router.post("/cameras/{camera_id}/check", response_model=CheckRun, summary="Check a camera now")
async def check_camera(camera_id: IdPath, ctx: ContextDep, principal: PrincipalDep) -> CheckRun:
    """Check one camera now and answer within the check deadline."""

    def target() -> tuple[int, int]:
        with ctx.sessions() as session:
            camera = camera_in_scope(session, principal, camera_id)
            return camera.site_id, camera.id

    site_id, cid = await run_in_threadpool(target)
    require_action(principal)
    take_rate(ctx, principal)
    return await run_in_threadpool(_run_and_report, ctx, site_id, [cid])


@router.post("/sites/{code}/check", response_model=CheckRun, summary="Verify a precinct now")
async def check_precinct(code: CodePath, ctx: ContextDep, principal: PrincipalDep) -> CheckRun:
    """Check every enabled camera of a precinct now (the installer's verify)."""

    def target() -> tuple[int, list[int]]:
        with ctx.sessions() as session:
            site = site_in_scope(session, principal, code)
            if site.level != SiteLevel.PRECINCT:
                raise ApiError(409, "on-demand checks cover one precinct; use a sweep for more")
            ids = session.scalars(
                select(Camera.id)
                .where(Camera.site_id == site.id, Camera.enabled.is_(True))
                .order_by(Camera.id)
                .limit(MAX_CAMERAS_PER_CHECK)
            ).all()
            return site.id, list(ids)

    site_id, ids = await run_in_threadpool(target)
    require_action(principal)
    take_rate(ctx, principal)
    return await run_in_threadpool(_run_and_report, ctx, site_id, ids)
