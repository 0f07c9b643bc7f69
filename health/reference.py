"""Reference frames: save a camera's current view as the one blur and view checks compare to."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from camfleet.config import Settings
from camfleet.db import transaction
from camfleet.models import Camera, CameraReference, Site
from camfleet.timeutil import utcnow
from camfleet.vault import Vault
from health.analysis import StreamExpectation, analyse, reference_features, thumbnail_jpeg
from health.capture import capture
from health.check import CheckOutcome
from health.errors import StreamError
from health.status import Severity, severity_of
from health.targets import capture_options, plans_for
from health.thresholds import Thresholds

# Wide enough to see aim and focus on the installer's page; the sub stream is 640 wide.
REFERENCE_MAX_WIDTH = 960


class ReferenceFrameError(Exception):
    """The reference frame could not be taken; the message says why (without credentials)."""


class CameraNotFound(LookupError):
    """No camera matches the given id or SITE/NAME."""


@dataclass(frozen=True)
class SavedReference:
    """What was stored as a camera's reference."""

    camera_id: int
    label: str
    width: int
    height: int
    sharpness: float
    jpeg_bytes: int
    set_at: datetime


def find_camera(session: Session, ref: str) -> Camera:
    """Return the camera named by its id or by SITE/NAME; raise CameraNotFound."""
    camera: Camera | None = None
    if ref.isdigit():
        camera = session.get(Camera, int(ref))
    else:
        code, sep, name = ref.partition("/")
        if sep and code and name:
            camera = session.scalars(
                select(Camera).join(Site).where(Site.code == code, Camera.name == name)
            ).first()
    if camera is None:
        raise CameraNotFound(f"no camera {ref!r} (give its id or SITE/NAME)")
    return camera


def set_reference(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    camera_id: int,
    set_by: str | None = None,
    *,
    force: bool = False,
) -> SavedReference:
    """Watch the camera's check stream now and store its picture as the reference.

    A picture a check would call critical (black, covered, frozen, ...) is refused unless
    force is given: a reference must show the scene the camera is meant to watch.
    """
    with sessions() as session:
        plans = plans_for(session, [camera_id])
    if not plans:
        raise CameraNotFound(f"no camera with id {camera_id}")
    plan = plans[0]
    target = plan.target(vault)
    if isinstance(target, CheckOutcome):
        raise ReferenceFrameError(f"{plan.label}: {target.reasons[0].message}")
    # One open from this process: the checkers' lock-free mode is theirs alone.
    options = replace(capture_options(settings), ffmpeg_thread_safe=False)
    try:
        result = capture(
            target.stream_uri,
            target.username,
            target.password,
            options,
            time.monotonic() + options.deadline_s,
        )
    except StreamError as exc:
        raise ReferenceFrameError(f"{plan.label}: {exc.message}") from None
    if result.image is None or not result.frames:
        raise ReferenceFrameError(f"{plan.label}: the stream gave no picture to keep")
    expected = StreamExpectation(target.expected_width, target.expected_height)
    verdict = analyse(result.frames, expected, None, Thresholds())
    if severity_of(verdict.status) is Severity.CRITICAL and not force:
        why = "; ".join(r.message for r in verdict.reasons) or verdict.status.value
        raise ReferenceFrameError(f"{plan.label}: the picture is {verdict.status.value} ({why})")
    image = result.image
    features = reference_features(image)
    jpeg = thumbnail_jpeg(image, REFERENCE_MAX_WIDTH, quality=90)
    now = utcnow()
    with transaction(sessions) as session:
        row = session.get(CameraReference, camera_id)
        if row is None:
            row = CameraReference(camera_id=camera_id, jpeg=b"", features=b"")
            session.add(row)
        row.jpeg = jpeg
        row.features = features.to_bytes()
        row.set_at = now
        row.set_by = (set_by or "")[:120] or None
    height, width = image.shape[:2]
    return SavedReference(
        camera_id, plan.label, int(width), int(height), features.sharpness, len(jpeg), now
    )


def clear_reference(sessions: sessionmaker[Session], camera_id: int) -> bool:
    """Remove a camera's reference; return whether it had one."""
    with transaction(sessions) as session:
        row = session.get(CameraReference, camera_id)
        if row is None:
            return False
        session.delete(row)
        return True
