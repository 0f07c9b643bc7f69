"""Sites: list, tree, one site, and the commission's register as CSV (import and export)."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select

from api.deps import ContextDep, PrincipalDep, SessionDep
from api.errors import ERROR_RESPONSES, WRITE_RESPONSES, ApiError, ErrorBody
from api.paging import CodePath, PagingDep
from api.schemas import ImportResult, Page, SiteNode, SitePublic
from api.scope import require_admin, restrict, site_in_scope
from api.views import parent_code_of, site_public
from camfleet.models import Site, SiteLevel
from camfleet.register import MAX_FILE_BYTES, RegisterInvalid, export_register, import_register

router = APIRouter(prefix="/sites", tags=["sites"], responses=ERROR_RESPONSES)

CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}
# A national register is about 3 MB; anything far larger is refused before parsing.
MAX_UPLOAD_BYTES = min(MAX_FILE_BYTES, 20_000_000)


@router.get("", response_model=Page[SitePublic], summary="List sites")
def list_sites(
    principal: PrincipalDep,
    session: SessionDep,
    paging: PagingDep,
    level: Annotated[SiteLevel | None, Query(description="Only this level")] = None,
    prefix: Annotated[str, Query(max_length=64, description="Code prefix")] = "",
) -> Page[SitePublic]:
    """List the sites the caller can see, in tree order."""
    query = restrict(select(Site), principal)
    if level is not None:
        query = query.where(Site.level == level.value)
    if prefix:
        query = query.where(Site.code.startswith(prefix, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Site.path).offset(paging.offset).limit(paging.page_size)
    ).all()
    return Page[SitePublic](
        items=[site_public(s, parent_code_of(s.path)) for s in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/tree", response_model=list[SiteNode], summary="The site tree")
def site_tree(
    principal: PrincipalDep,
    session: SessionDep,
    root: Annotated[
        str | None, Query(max_length=64, description="Code of the subtree's root")
    ] = None,
    depth: Annotated[int, Query(ge=1, le=4, description="Levels below the root to include")] = 4,
) -> list[SiteNode]:
    """Return the caller's part of the tree as nested nodes."""
    query = restrict(select(Site), principal)
    base_depth = 0
    if root is not None:
        top = site_in_scope(session, principal, root)
        query = query.where(Site.path.startswith(top.path, autoescape=True))
        base_depth = top.path.count("/") - 1
    elif principal.scope_path != "/":
        base_depth = principal.scope_path.count("/") - 1
    nodes: dict[str, SiteNode] = {}
    roots: list[SiteNode] = []
    for site in session.scalars(query.order_by(Site.path)):
        if site.path.count("/") - 1 - base_depth >= depth + 1:
            continue
        node = SiteNode(
            code=site.code,
            name=site.name,
            level=site.level,
            expected_cameras=site.expected_cameras,
        )
        nodes[site.code] = node
        parent = parent_code_of(site.path)
        if parent is not None and parent in nodes:
            nodes[parent].children.append(node)
        else:
            roots.append(node)
    return roots


def _register_rows_in_scope(text: str, visible: set[str] | None) -> str:
    if visible is None:
        return text
    reader = csv.reader(io.StringIO(text, newline=""))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    for i, row in enumerate(reader):
        if i == 0 or (len(row) > 6 and row[6] in visible):
            writer.writerow(row)
    return out.getvalue()


@router.get(
    "/register.csv",
    response_class=Response,
    summary="Export the register",
    responses={200: {"content": CSV_CONTENT, "description": "The register, import format"}},
)
def export_sites(principal: PrincipalDep, session: SessionDep) -> Response:
    """Export the precincts the caller can see as a register CSV, in the import format."""
    visible: set[str] | None = None
    if principal.scope_path != "/":
        visible = set(
            session.scalars(
                restrict(select(Site.code), principal).where(Site.level == SiteLevel.PRECINCT)
            )
        )
    text = _register_rows_in_scope(export_register(session), visible)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the register is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.put(
    "/register.csv",
    response_model=ImportResult,
    summary="Import the register",
    responses={
        **WRITE_RESPONSES,
        400: {"model": ErrorBody, "description": "The register has problems; nothing imported"},
        413: {"model": ErrorBody, "description": "The file is too large"},
    },
    openapi_extra={"requestBody": {"required": True, "content": CSV_CONTENT}},
    max_body_size=MAX_UPLOAD_BYTES,
)
async def import_sites(request: Request, ctx: ContextDep, principal: PrincipalDep) -> ImportResult:
    """Import the commission's register (admin); all-or-nothing, problems listed per line."""
    require_admin(principal)
    data = await _read_limited(request, MAX_UPLOAD_BYTES)

    def apply() -> ImportResult:
        with ctx.sessions() as session:
            try:
                summary = import_register(session, data)
            except RegisterInvalid as exc:
                session.rollback()
                raise ApiError(
                    400,
                    str(exc),
                    code="register_invalid",
                    details=[{"line": e.line, "reason": e.reason} for e in exc.errors[:1000]],
                ) from None
            session.commit()
        return ImportResult(
            created={str(k): v for k, v in summary.created.items()},
            updated={str(k): v for k, v in summary.updated.items()},
            unchanged={str(k): v for k, v in summary.unchanged.items()},
        )

    result = await run_in_threadpool(apply)
    ctx.readiness.invalidate()
    return result


@router.get("/{code}", response_model=SitePublic, summary="One site")
def get_site_route(code: CodePath, principal: PrincipalDep, session: SessionDep) -> SitePublic:
    """Return one site."""
    site = site_in_scope(session, principal, code)
    return site_public(site, parent_code_of(site.path))
