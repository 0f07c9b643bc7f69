"""Cameras: list, one camera, enable/disable, move, credential (write-only), history, thumbnail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, selectinload

from api.deps import ContextDep, PrincipalDep, SessionDep
from api.errors import ERROR_RESPONSES, WRITE_RESPONSES, ApiError, not_found
from api.paging import IdPath, PagingDep
from api.schemas import (
    CameraCredentialSet,
    CameraMove,
    CameraPublic,
    CameraUpdate,
    CheckPublic,
    Page,
)
from api.scope import camera_in_scope, require_action, restrict, site_in_scope
from api.views import JPEG_CONTENT, camera_public, check_public, jpeg_response
from camfleet.credentials import CredentialError, add_credential
from camfleet.models import (
    Camera,
    CameraReference,
    CameraState,
    CheckResult,
    Credential,
    Site,
    SiteLevel,
)
from camfleet.status import Status
from camfleet.timeutil import utcnow
from camfleet.tokens import Principal

router = APIRouter(prefix="/cameras", tags=["cameras"], responses=ERROR_RESPONSES)


def _camera_query() -> Select[Camera, str, str, int]:
    return (
        select(Camera, Site.code, Credential.username, CameraReference.camera_id)
        .join(Site, Camera.site_id == Site.id)
        .outerjoin(Credential, Camera.credential_id == Credential.id)
        .outerjoin(CameraReference, CameraReference.camera_id == Camera.id)
        .options(
            selectinload(Camera.profiles),
            selectinload(Camera.state).options(defer(CameraState.thumbnail)),
        )
    )


def load_camera_public(
    session: Session, principal: Principal, camera_id: IdPath, sweep_interval_s: float
) -> CameraPublic:
    """Return the public view of one camera in scope, or answer 404."""
    row = session.execute(
        restrict(_camera_query().where(Camera.id == camera_id), principal)
    ).first()
    if row is None:
        raise not_found("camera")
    camera, code, username, ref = row
    return camera_public(camera, code, username, ref is not None, utcnow(), sweep_interval_s)


@router.get("", response_model=Page[CameraPublic], summary="List cameras")
def list_cameras(
    ctx: ContextDep,
    principal: PrincipalDep,
    session: SessionDep,
    paging: PagingDep,
    site: Annotated[
        str | None, Query(max_length=64, description="Only cameras under this site code")
    ] = None,
    status: Annotated[Status | None, Query(description="Only this hard status")] = None,
    enabled: Annotated[bool | None, Query(description="Only enabled or disabled")] = None,
) -> Page[CameraPublic]:
    """List the cameras the caller can see, by site path and name."""
    query = restrict(_camera_query(), principal)
    if site is not None:
        root = site_in_scope(session, principal, site)
        query = query.where(Site.path.startswith(root.path, autoescape=True))
    if status is not None:
        query = query.join(CameraState, CameraState.camera_id == Camera.id).where(
            CameraState.hard_status == status.value
        )
    if enabled is not None:
        query = query.where(Camera.enabled.is_(enabled))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Site.path, Camera.name).offset(paging.offset).limit(paging.page_size)
    ).all()
    now = utcnow()
    return Page[CameraPublic](
        items=[
            camera_public(c, code, user, ref is not None, now, ctx.settings.sweep_interval_s)
            for c, code, user, ref in rows
        ],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/{camera_id}", response_model=CameraPublic, summary="One camera")
def get_camera(
    camera_id: IdPath, ctx: ContextDep, principal: PrincipalDep, session: SessionDep
) -> CameraPublic:
    """Return one camera with its profiles and current state."""
    return load_camera_public(session, principal, camera_id, ctx.settings.sweep_interval_s)


@router.patch(
    "/{camera_id}",
    response_model=CameraPublic,
    summary="Enable or disable",
    responses=WRITE_RESPONSES,
)
def update_camera(
    camera_id: IdPath,
    body: CameraUpdate,
    ctx: ContextDep,
    principal: PrincipalDep,
    session: SessionDep,
) -> CameraPublic:
    """Change a camera's settings (enable or disable it)."""
    camera = camera_in_scope(session, principal, camera_id)
    require_action(principal)
    if body.enabled is not None:
        camera.enabled = body.enabled
    session.commit()
    ctx.readiness.invalidate()
    return load_camera_public(session, principal, camera_id, ctx.settings.sweep_interval_s)


@router.post(
    "/{camera_id}/move",
    response_model=CameraPublic,
    summary="Move to another precinct",
    responses=WRITE_RESPONSES,
)
def move_camera(
    camera_id: IdPath,
    body: CameraMove,
    ctx: ContextDep,
    principal: PrincipalDep,
    session: SessionDep,
) -> CameraPublic:
    """Register a camera to another precinct (both must lie in the caller's scope)."""
    camera = camera_in_scope(session, principal, camera_id)
    require_action(principal)
    target = site_in_scope(session, principal, body.site_code)
    if target.level != SiteLevel.PRECINCT:
        raise ApiError(409, "cameras belong to precincts; the target is a " + target.level)
    if target.id != camera.site_id:
        clash = session.scalar(
            select(Camera.id).where(Camera.site_id == target.id, Camera.name == camera.name)
        )
        if clash is not None:
            raise ApiError(
                409, f"precinct {target.code} already has a camera named {camera.name!r}"
            )
        camera.site_id = target.id
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise ApiError(409, "the camera could not be moved") from None
        ctx.readiness.invalidate()
    return load_camera_public(session, principal, camera_id, ctx.settings.sweep_interval_s)


@router.put(
    "/{camera_id}/credential",
    response_model=CameraPublic,
    summary="Set the camera's login",
    responses=WRITE_RESPONSES,
)
def set_camera_credential(
    camera_id: IdPath,
    body: CameraCredentialSet,
    ctx: ContextDep,
    principal: PrincipalDep,
    session: SessionDep,
) -> CameraPublic:
    """Store the login a camera is checked with; the password is write-only."""
    camera = camera_in_scope(session, principal, camera_id)
    require_action(principal)
    site = session.get(Site, camera.site_id)
    try:
        cred = add_credential(
            session, ctx.vault, site, body.username, body.password.get_secret_value()
        )
    except CredentialError as exc:
        session.rollback()
        raise ApiError(422, str(exc)) from None
    camera.credential_id = cred.id
    session.commit()
    return load_camera_public(session, principal, camera_id, ctx.settings.sweep_interval_s)


@router.get("/{camera_id}/checks", response_model=Page[CheckPublic], summary="Check history")
def camera_checks(
    camera_id: IdPath,
    principal: PrincipalDep,
    session: SessionDep,
    paging: PagingDep,
) -> Page[CheckPublic]:
    """Return a camera's recorded checks, newest first."""
    camera = camera_in_scope(session, principal, camera_id)
    query = select(CheckResult).where(CheckResult.camera_id == camera.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(CheckResult.started_at.desc(), CheckResult.id.desc())
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return Page[CheckPublic](
        items=[check_public(r) for r in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get(
    "/{camera_id}/thumbnail",
    response_class=Response,
    summary="Latest thumbnail",
    responses={200: {"content": JPEG_CONTENT, "description": "The latest checked frame, as JPEG"}},
)
def camera_thumbnail(camera_id: IdPath, principal: PrincipalDep, session: SessionDep) -> Response:
    """Return the frame kept from the camera's latest check, as JPEG."""
    camera = camera_in_scope(session, principal, camera_id)
    jpeg = session.scalar(select(CameraState.thumbnail).where(CameraState.camera_id == camera.id))
    if not jpeg:
        raise not_found("thumbnail")
    return jpeg_response(jpeg)
