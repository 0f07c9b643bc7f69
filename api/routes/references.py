"""Reference frames: save the camera's current picture as its reference, and show it."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from api.deps import ContextDep, PrincipalDep, SessionDep
from api.errors import ERROR_RESPONSES, WRITE_RESPONSES, ApiError, ErrorBody, not_found
from api.paging import IdPath
from api.routes.checks import take_rate
from api.schemas import ReferencePublic, ReferenceSet
from api.scope import camera_in_scope, require_action
from api.views import JPEG_CONTENT, jpeg_response
from camfleet.models import CameraReference
from health.reference import CameraNotFound, ReferenceFrameError, set_reference

router = APIRouter(prefix="/cameras", tags=["cameras"], responses=ERROR_RESPONSES)


@router.put(
    "/{camera_id}/reference",
    response_model=ReferencePublic,
    summary="Set the reference frame",
    responses={
        **WRITE_RESPONSES,
        429: {"model": ErrorBody, "description": "Too many on-demand checks for this token"},
    },
)
async def put_reference(
    camera_id: IdPath, body: ReferenceSet, ctx: ContextDep, principal: PrincipalDep
) -> ReferencePublic:
    """Watch the camera now and keep its picture as the reference (refused if critical)."""

    def find() -> int:
        with ctx.sessions() as session:
            return camera_in_scope(session, principal, camera_id).id

    cid = await run_in_threadpool(find)
    require_action(principal)
    take_rate(ctx, principal)
    try:
        saved = await run_in_threadpool(
            set_reference,
            ctx.settings,
            ctx.sessions,
            ctx.vault,
            cid,
            principal.name,
            force=body.force,
        )
    except CameraNotFound:
        raise not_found("camera") from None
    except ReferenceFrameError as exc:
        raise ApiError(409, str(exc), code="reference_refused") from None
    return ReferencePublic(
        camera_id=saved.camera_id,
        width=saved.width,
        height=saved.height,
        sharpness=saved.sharpness,
        jpeg_bytes=saved.jpeg_bytes,
        set_at=saved.set_at,
        set_by=principal.name,
    )


@router.get(
    "/{camera_id}/reference",
    response_class=Response,
    summary="The reference frame",
    responses={200: {"content": JPEG_CONTENT, "description": "The saved reference, as JPEG"}},
)
def get_reference(camera_id: IdPath, principal: PrincipalDep, session: SessionDep) -> Response:
    """Return the camera's saved reference frame as JPEG."""
    camera = camera_in_scope(session, principal, camera_id)
    jpeg = session.scalar(
        select(CameraReference.jpeg).where(CameraReference.camera_id == camera.id)
    )
    if not jpeg:
        raise not_found("reference frame")
    return jpeg_response(jpeg)
