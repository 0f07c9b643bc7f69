"""Sweeps: start one over the tree or a subtree, follow its progress, cancel it."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.context import ApiContext
from api.deps import ContextDep, PrincipalDep, SessionDep
from api.errors import ERROR_RESPONSES, WRITE_RESPONSES, ApiError, not_found
from api.paging import IdPath, PagingDep
from api.schemas import Page, SweepPublic, SweepStart
from api.scope import require_action, site_in_scope
from api.views import sweep_public
from camfleet.models import Sweep
from camfleet.sites import SiteNotFound
from camfleet.tokens import Principal
from health.sweep import start_sweep
from health.sweep_record import SweepBusy, cancel_sweep

router = APIRouter(prefix="/sweeps", tags=["sweeps"], responses=ERROR_RESPONSES)


def _scope_code(sweep: Sweep) -> str | None:
    return None if sweep.scope_path == "/" else sweep.scope_path.strip("/").split("/")[-1]


def _visible_sweep(session: Session, principal: Principal, sweep_id: int) -> Sweep:
    sweep = session.get(Sweep, sweep_id)
    if sweep is None or not principal.can_see(sweep.scope_path):
        raise not_found("sweep")
    return sweep


def _start(ctx: ApiContext, principal: Principal, code: str | None) -> int:
    with ctx.sessions() as session:
        if code is not None:
            site_in_scope(session, principal, code)
    try:
        return start_sweep(ctx.settings, ctx.sessions, ctx.vault, code, "api")
    except SweepBusy as exc:
        with ctx.sessions() as session:
            other = session.get(Sweep, exc.sweep_id)
            visible = other is not None and principal.can_see(other.scope_path)
        if not visible:
            # A wider sweep (over an ancestor) covers this site; its id and scope are not the
            # caller's to see, only that one is running.
            raise ApiError(409, "a sweep over a wider scope already covers this site") from None
        raise ApiError(409, str(exc), details={"sweep_id": exc.sweep_id}) from None
    except SiteNotFound:
        raise not_found("site") from None


@router.post(
    "",
    response_model=SweepPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a sweep",
    responses=WRITE_RESPONSES,
)
async def create_sweep(body: SweepStart, ctx: ContextDep, principal: PrincipalDep) -> SweepPublic:
    """Start checking every camera of the tree (admin) or of one subtree in scope."""
    require_action(principal)
    code = body.site_code
    if code is None and principal.scope_path != "/":
        code = principal.scope_path.strip("/").split("/")[-1]
    sweep_id = await run_in_threadpool(_start, ctx, principal, code)

    def read() -> SweepPublic:
        with ctx.sessions() as session:
            sweep = _visible_sweep(session, principal, sweep_id)
            return sweep_public(sweep, _scope_code(sweep))

    return await run_in_threadpool(read)


@router.get("", response_model=Page[SweepPublic], summary="List sweeps")
def list_sweeps(
    principal: PrincipalDep, session: SessionDep, paging: PagingDep
) -> Page[SweepPublic]:
    """List the sweeps over the caller's scope, newest first."""
    query = select(Sweep)
    if principal.scope_path != "/":
        query = query.where(Sweep.scope_path.startswith(principal.scope_path, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Sweep.id.desc()).offset(paging.offset).limit(paging.page_size)
    ).all()
    return Page[SweepPublic](
        items=[sweep_public(s, _scope_code(s)) for s in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/{sweep_id}", response_model=SweepPublic, summary="One sweep and its progress")
def get_sweep(sweep_id: IdPath, principal: PrincipalDep, session: SessionDep) -> SweepPublic:
    """Return a sweep's progress."""
    sweep = _visible_sweep(session, principal, sweep_id)
    return sweep_public(sweep, _scope_code(sweep))


@router.post(
    "/{sweep_id}/cancel",
    response_model=SweepPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a sweep",
    responses=WRITE_RESPONSES,
)
def cancel(
    sweep_id: IdPath, ctx: ContextDep, principal: PrincipalDep, session: SessionDep
) -> SweepPublic:
    """Ask a running sweep to stop; it stops after the checks in flight."""
    _visible_sweep(session, principal, sweep_id)
    require_action(principal)
    if not cancel_sweep(ctx.sessions, sweep_id):
        raise ApiError(409, "the sweep is not running")
    session.expire_all()
    sweep = _visible_sweep(session, principal, sweep_id)
    return sweep_public(sweep, _scope_code(sweep))
