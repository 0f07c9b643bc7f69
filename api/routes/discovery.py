"""Discovery: run it for a site, follow its results, and register devices an installer found."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy import select

from api.deps import ContextDep, PrincipalDep, SessionDep
from api.discovery_runs import TargetRefused, check_targets, start_discovery
from api.errors import ERROR_RESPONSES, WRITE_RESPONSES, ApiError, not_found
from api.paging import CodePath, IdPath
from api.schemas import DiscoveryRunPublic, Strict
from api.scope import conceal_foreign, require_action, restrict, site_in_scope
from api.views import discovery_public
from camfleet.models import DiscoveryRun, Site, SiteLevel
from camfleet.sites import SiteNotFound
from discovery.schemas import DeviceBatchIn, DeviceBatchOut, register_submission

MAX_BATCH_BYTES = 16 * 1024 * 1024

router = APIRouter(tags=["discovery"], responses=ERROR_RESPONSES)

HostEntry = Annotated[str, Field(min_length=1, max_length=300)]


class DiscoveryStart(Strict):
    """Where to look: hosts and/or a subnet inside the site's network (default: all of it)."""

    hosts: list[HostEntry] = Field(default_factory=list, max_length=256)
    subnet: str | None = Field(None, max_length=64, description="CIDR inside the site's network")
    timeout_s: float | None = Field(None, ge=0.5, le=30, description="Probe reply window")
    move: bool = Field(False, description="Take over cameras registered to other sites")


@router.post(
    "/sites/{code}/discovery",
    response_model=DiscoveryRunPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Discover a precinct's cameras",
    responses=WRITE_RESPONSES,
)
def start_site_discovery(
    code: CodePath,
    body: DiscoveryStart,
    ctx: ContextDep,
    principal: PrincipalDep,
    session: SessionDep,
) -> DiscoveryRunPublic:
    """Probe the precinct's network for ONVIF cameras and register what answers."""
    site = site_in_scope(session, principal, code)
    require_action(principal)
    if site.level != SiteLevel.PRECINCT:
        raise ApiError(409, "cameras are discovered at a precinct")
    try:
        plan = check_targets(site.network, body.hosts, body.subnet)
    except TargetRefused as exc:
        raise ApiError(409, str(exc)) from None
    plan = replace(plan, timeout_s=body.timeout_s or 0.0, move=body.move)
    run_id = start_discovery(ctx.settings, ctx.sessions, ctx.vault, site.code, plan)
    ctx.readiness.invalidate()
    run = session.get(DiscoveryRun, run_id)
    assert run is not None
    return discovery_public(run, site.code)


@router.get(
    "/discovery/{run_id}", response_model=DiscoveryRunPublic, summary="A discovery run's results"
)
def get_discovery(
    run_id: IdPath, principal: PrincipalDep, session: SessionDep
) -> DiscoveryRunPublic:
    """Return a discovery run and the devices it found so far."""
    row = session.execute(
        restrict(
            select(DiscoveryRun, Site.code)
            .join(Site, DiscoveryRun.site_id == Site.id)
            .where(DiscoveryRun.id == run_id),
            principal,
        )
    ).first()
    if row is None:
        raise not_found("discovery run")
    run, code = row
    session.refresh(run)
    public = discovery_public(run, code)
    public.results = [conceal_foreign(principal, dict(r)) for r in public.results]
    return public


@router.post(
    "/sites/{code}/devices",
    response_model=DeviceBatchOut,
    summary="Register devices found on site",
    responses=WRITE_RESPONSES,
    # 512 devices of 16 profiles at their field limits; the schema then bounds each part.
    max_body_size=MAX_BATCH_BYTES,
)
async def register_site_devices(
    code: CodePath, body: DeviceBatchIn, ctx: ContextDep, principal: PrincipalDep
) -> DeviceBatchOut:
    """Register devices an installer's laptop interrogated; every address is checked again."""

    def in_scope() -> Site:
        with ctx.sessions() as session:
            return site_in_scope(session, principal, code)

    site = await run_in_threadpool(in_scope)
    require_action(principal)
    if site.level != SiteLevel.PRECINCT:
        raise ApiError(409, "cameras are registered to a precinct")
    if body.move and principal.scope_path != "/":
        # Moving takes a camera from another site, which an installer may not see.
        raise ApiError(403, "only an admin token may move cameras between sites")
    try:
        result = await run_in_threadpool(register_submission, ctx.sessions, site.code, body)
    except SiteNotFound:
        raise not_found("site") from None
    ctx.readiness.invalidate()
    return DeviceBatchOut.model_validate(
        {
            **result.model_dump(),
            "results": [conceal_foreign(principal, r.model_dump()) for r in result.results],
        }
    )
