"""Readiness: rollups per region/district/constituency, precinct lists and details, CSV export."""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.context import ApiContext
from api.deps import ContextDep, PrincipalDep, SessionDep
from api.errors import ERROR_RESPONSES, not_found
from api.fastpath import url_key
from api.paging import CodePath, Paging, PagingDep
from api.schemas import Page, PrecinctDetail, PrecinctSummary, SiteReadiness, SiteRollupPublic
from api.scope import site_in_scope
from api.views import camera_readiness, precinct_summary, rollup_public
from camfleet.models import SiteLevel
from camfleet.readiness_query import PrecinctEntry, ReadinessSnapshot, SiteInfo, load_precinct
from camfleet.status import Readiness
from camfleet.timeutil import utcnow
from camfleet.tokens import Principal

router = APIRouter(prefix="/readiness", tags=["readiness"], responses=ERROR_RESPONSES)

# Rendered responses kept per snapshot; bounded so odd queries cannot grow memory.
MAX_RENDERED = 4096
JSON = "application/json"


class RollupLevel(StrEnum):
    """Levels that roll precincts up."""

    REGION = "region"
    DISTRICT = "district"
    CONSTITUENCY = "constituency"


PrefixQuery = Annotated[
    str, Query(max_length=64, description="Only sites whose code starts with this")
]
StateQuery = Annotated[Readiness | None, Query(description="Only this readiness state")]


async def snapshot(ctx: ApiContext) -> ReadinessSnapshot:
    """Return the shared snapshot, building it off the event loop when there is none."""
    snap = ctx.readiness.current()
    if snap is None:
        snap = await run_in_threadpool(ctx.readiness.get)
    return snap


def _cached(
    ctx: ApiContext,
    snap: ReadinessSnapshot,
    key: tuple[object, ...],
    request: Request,
    principal: Principal,
) -> bytes | None:
    rendered = ctx.readiness.rendered_for(snap)
    body = rendered.get(key)
    if body is not None:
        query = request.scope.get("query_string", b"")
        rendered[url_key(principal.scope_path, request.url.path, query)] = body
    return body


def _remember(
    ctx: ApiContext,
    snap: ReadinessSnapshot,
    key: tuple[object, ...],
    body: bytes,
    request: Request,
    principal: Principal,
) -> None:
    rendered = ctx.readiness.rendered_for(snap)
    if len(rendered) >= MAX_RENDERED:
        rendered.clear()
    rendered[key] = body
    # The same bytes for the exact URL, for the fast path in front of the router.
    query = request.scope.get("query_string", b"")
    rendered[url_key(principal.scope_path, request.url.path, query)] = body


def _visible_site(snap: ReadinessSnapshot, principal: Principal, code: str) -> SiteInfo:
    site = snap.sites.get(code)
    if site is None or not principal.can_see(site.path):
        raise not_found("site")
    return site


def _precinct_page(
    entries: list[PrecinctEntry], state: Readiness | None, paging: Paging
) -> Page[PrecinctSummary]:
    chosen = entries if state is None else [e for e in entries if e.readiness.state is state]
    return Page[PrecinctSummary](
        items=[precinct_summary(e.site, e.readiness) for e in paging.slice(chosen)],
        total=len(chosen),
        page=paging.page,
        page_size=paging.page_size,
    )


def _scoped_precincts(
    snap: ReadinessSnapshot, principal: Principal, under: str | None
) -> list[PrecinctEntry]:
    if under is not None:
        return snap.precincts_under(_visible_site(snap, principal, under).code)
    if principal.scope_path == "/":
        return snap.precincts
    scope_code = principal.scope_path.strip("/").split("/")[-1]
    return snap.precincts_under(scope_code)


@router.get("/rollup", response_model=Page[SiteRollupPublic], summary="Rollups of one level")
async def readiness_rollup(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    paging: PagingDep,
    level: Annotated[RollupLevel, Query(description="Which level to list")] = RollupLevel.REGION,
    prefix: PrefixQuery = "",
    state: Annotated[
        Readiness | None, Query(description="Only sites with at least one precinct in this state")
    ] = None,
    under: Annotated[
        str | None, Query(max_length=64, description="Only sites under this site code")
    ] = None,
) -> Response:
    """List sites of one level with counts and percentages of their precincts in each state."""
    snap = await snapshot(ctx)
    key = ("rollup", principal.scope_path, level, prefix, state, under, paging)
    body = _cached(ctx, snap, key, request, principal)
    if body is None:
        root = _visible_site(snap, principal, under).path if under is not None else ""
        sites = [
            s
            for s in snap.sites_at(level.value)
            if s.code.startswith(prefix)
            and s.path.startswith(root)
            and principal.can_see(s.path)
            and (state is None or snap.rollup_of(s.code).counts[state] > 0)
        ]
        page = Page[SiteRollupPublic](
            items=[rollup_public(s, snap.rollup_of(s.code)) for s in paging.slice(sites)],
            total=len(sites),
            page=paging.page,
            page_size=paging.page_size,
        )
        body = page.model_dump_json().encode()
        _remember(ctx, snap, key, body, request, principal)
    return Response(body, media_type=JSON)


@router.get("/precincts", response_model=Page[PrecinctSummary], summary="Precincts, worst first")
async def readiness_precincts(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    paging: PagingDep,
    state: StateQuery = None,
    prefix: PrefixQuery = "",
    under: Annotated[
        str | None, Query(max_length=64, description="Only precincts under this site code")
    ] = None,
) -> Response:
    """List precincts with their state and reasons, worst and oldest first (the not-ready list)."""
    snap = await snapshot(ctx)
    key = ("precincts", principal.scope_path, state, prefix, under, paging)
    body = _cached(ctx, snap, key, request, principal)
    if body is None:
        entries = _scoped_precincts(snap, principal, under)
        if prefix:
            entries = [e for e in entries if e.site.code.startswith(prefix)]
        body = _precinct_page(entries, state, paging).model_dump_json().encode()
        _remember(ctx, snap, key, body, request, principal)
    return Response(body, media_type=JSON)


@router.get("/sites/{code}", response_model=SiteReadiness, summary="One site's readiness")
async def readiness_site(
    code: CodePath,
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    paging: PagingDep,
    state: Annotated[
        Readiness | None, Query(description="Which precincts to list (default not_ready)")
    ] = Readiness.NOT_READY,
) -> Response:
    """Return a site's rollup and its not-ready precincts with reasons, worst and oldest first."""
    snap = await snapshot(ctx)
    key = ("site", principal.scope_path, code, state, paging)
    body = _cached(ctx, snap, key, request, principal)
    if body is None:
        site = _visible_site(snap, principal, code)
        result = SiteReadiness(
            computed_at=snap.computed_at,
            site=rollup_public(site, snap.rollup_of(site.code)),
            not_ready=_precinct_page(snap.precincts_under(site.code), state, paging),
        )
        body = result.model_dump_json().encode()
        _remember(ctx, snap, key, body, request, principal)
    return Response(body, media_type=JSON)


@router.get(
    "/precincts/{code}", response_model=PrecinctDetail, summary="One precinct, with cameras"
)
def readiness_precinct(
    code: CodePath, ctx: ContextDep, principal: PrincipalDep, session: SessionDep
) -> PrecinctDetail:
    """Return a precinct's readiness and every camera's current state, read fresh."""
    site = site_in_scope(session, principal, code)
    if site.level != SiteLevel.PRECINCT:
        raise not_found("precinct")
    now = utcnow()
    interval = ctx.settings.sweep_interval_s
    readiness, details = load_precinct(session, site, now, interval)
    info = SiteInfo(site.id, site.code, site.name, site.level, site.path)
    summary = precinct_summary(info, readiness)
    return PrecinctDetail(
        **summary.model_dump(),
        computed_at=now,
        cameras=[camera_readiness(d.camera, d.state, now, interval) for d in details],
    )


EXPORT_COLUMNS = (
    "region_code",
    "district_code",
    "constituency_code",
    "precinct_code",
    "precinct_name",
    "state",
    "cameras_expected",
    "cameras_registered",
    "cameras_ok",
    "worst_status",
    "oldest_check_at",
    "reasons",
)


def _cell(text: str) -> str:
    """Return text that a spreadsheet shows as text: a leading = + - @ would start a formula."""
    # Camera names come from the devices themselves, and they lead the reasons column.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def readiness_csv(entries: list[PrecinctEntry]) -> str:
    """Return precinct readiness as CSV for the commission, in register (path) order."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for e in sorted(entries, key=lambda e: e.site.path):
        codes = e.site.path.strip("/").split("/")
        ancestors = [*codes[:-1], "", "", ""][:3]
        r = e.readiness
        writer.writerow(
            [
                *ancestors,
                e.site.code,
                _cell(e.site.name),
                r.state.value,
                r.cameras_expected,
                r.cameras_registered,
                r.cameras_ok,
                r.worst_status.value if r.worst_status else "",
                r.oldest_check_at.isoformat() if r.oldest_check_at else "",
                _cell("; ".join(x.message for x in r.reasons)),
            ]
        )
    return out.getvalue()


@router.get(
    "/export.csv",
    response_class=Response,
    summary="Readiness as CSV",
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "One row per precinct",
        }
    },
)
async def readiness_export(
    ctx: ContextDep,
    principal: PrincipalDep,
    under: Annotated[
        str | None, Query(max_length=64, description="Only precincts under this site code")
    ] = None,
) -> Response:
    """Export every precinct in scope with its state and reasons, for the commission."""
    snap = await snapshot(ctx)
    entries = _scoped_precincts(snap, principal, under)
    text = await run_in_threadpool(readiness_csv, entries)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="readiness.csv"'},
    )
