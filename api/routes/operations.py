"""Operations: liveness, readiness of the process, and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ContextDep, PrincipalDep
from api.errors import ERROR_RESPONSES, ApiError, ErrorBody
from api.metrics import render
from api.schemas import HealthStatus
from camfleet.tokens import Role

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthStatus, summary="Liveness")
def healthz() -> HealthStatus:
    """Report that the process is alive."""
    return HealthStatus(status="ok")


@router.get(
    "/readyz",
    response_model=HealthStatus,
    summary="Readiness of the service",
    responses={503: {"model": ErrorBody, "description": "The database does not answer"}},
)
def readyz(ctx: ContextDep) -> HealthStatus:
    """Report whether the database answers."""
    try:
        with ctx.sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise ApiError(503, "the database does not answer") from None
    return HealthStatus(status="ok")


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text format",
        },
        401: ERROR_RESPONSES[401],
        403: {
            "model": ErrorBody,
            "description": "Installers and site-scoped tokens cannot read fleet metrics",
        },
    },
)
async def metrics(ctx: ContextDep, principal: PrincipalDep) -> Response:
    """Return fleet metrics in the Prometheus text format (tokens over the whole tree)."""
    # The figures cover every district, so the rule is the token's scope, not its role: a
    # monitor or admin token limited to a site must not read the rest of the fleet here.
    if principal.role is Role.INSTALLER or principal.scope_path != "/":
        raise ApiError(403, "fleet metrics need an admin or monitor token over the whole tree")
    body = await run_in_threadpool(render, ctx.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
