"""Build check targets from registered cameras: check stream, credentials, reference, limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from camfleet.config import Settings
from camfleet.models import Camera, CameraReference, Credential, MediaProfile, Site
from camfleet.vault import Vault, VaultError
from health.model import CaptureOptions, CheckOutcome, CheckTarget
from health.pool import failed_outcome
from health.status import Reason, Status, severity_of

_CHECK_ENCODINGS = frozenset({"H264", "H265", "HEVC"})


@dataclass(frozen=True)
class CheckPlan:
    """A camera ready to be checked, its password still encrypted."""

    camera_id: int
    label: str
    """SITE/NAME, for people."""
    site_path: str
    stream_uri: str | None
    username: str | None = None
    password_encrypted: bytes | None = field(default=None, repr=False)
    expected_width: int | None = None
    expected_height: int | None = None
    expected_fps: float | None = None
    snapshot_uri: str | None = None
    reference: bytes | None = field(default=None, repr=False)
    thresholds: dict[str, float] = field(default_factory=dict)
    clock_skew_s: float | None = None

    def target(self, vault: Vault) -> CheckTarget | CheckOutcome:
        """Return the check target, decrypting the password now; an outcome when none can be."""
        if not self.stream_uri:
            return _outcome(self.camera_id, Status.NOT_FOUND, "no_stream", "no stream to check")
        password = None
        if self.password_encrypted is not None:
            try:
                password = vault.decrypt(self.password_encrypted)
            except VaultError as exc:
                code = "credential_unreadable"
                return _outcome(self.camera_id, Status.AUTH_FAILED, code, str(exc))
        return CheckTarget(
            camera_id=self.camera_id,
            stream_uri=self.stream_uri,
            username=self.username,
            password=password,
            expected_width=self.expected_width,
            expected_height=self.expected_height,
            expected_fps=self.expected_fps,
            snapshot_uri=self.snapshot_uri,
            reference=self.reference,
            thresholds=dict(self.thresholds),
            clock_skew_s=self.clock_skew_s,
        )


def _outcome(camera_id: int, status: Status, code: str, message: str) -> CheckOutcome:
    """Return an outcome decided without watching the stream."""
    base = failed_outcome(camera_id, code, message)
    return CheckOutcome(
        camera_id=camera_id,
        status=status,
        severity=severity_of(status),
        reasons=[Reason(code, message)],
        measurements={},
        thumbnail=None,
        started_at=base.started_at,
        duration_s=0.0,
    )


def capture_options(settings: Settings) -> CaptureOptions:
    """Return how checks watch streams, from the settings, for a checker process."""
    window = settings.sample_window_s
    open_s = settings.open_timeout_s
    read_s = settings.read_timeout_s
    # The capture needs open + window + read inside its deadline; the deadline setting wins.
    deadline = max(settings.check_deadline_s, open_s + window + read_s)
    return CaptureOptions(
        window_s=window,
        open_timeout_s=open_s,
        read_timeout_s=read_s,
        probe_timeout_s=min(2.0, open_s),
        deadline_s=deadline,
        ffmpeg_thread_safe=True,
    )


def check_profile(camera: Camera) -> MediaProfile | None:
    """Return the profile checks watch: the stored check profile, else the smallest H.264/5 one."""
    profiles = [p for p in camera.profiles if p.stream_uri]
    for p in profiles:
        if camera.check_profile_token and p.token == camera.check_profile_token:
            return p
    video = [p for p in profiles if (p.encoding or "").upper() in _CHECK_ENCODINGS] or profiles
    if not video:
        return None
    return min(video, key=lambda p: ((p.width or 0) * (p.height or 0), p.id))


def _numbers(overrides: dict[str, Any] | None) -> dict[str, float]:
    """Return the numeric threshold overrides; the check validates their ranges."""
    return {
        str(k): float(v)
        for k, v in (overrides or {}).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def plan_cameras(session: Session, query: Select[Camera]) -> list[CheckPlan]:
    """Return the check plans of the cameras a query selects, in the query's order."""
    cameras = session.scalars(
        query.options(selectinload(Camera.profiles), selectinload(Camera.site))
    ).all()
    ids = [c.id for c in cameras]
    cred_ids = {c.credential_id for c in cameras if c.credential_id is not None}
    creds = {
        c.id: c for c in session.scalars(select(Credential).where(Credential.id.in_(cred_ids)))
    }
    refs: dict[int, bytes] = {
        camera_id: features
        for camera_id, features in session.execute(
            select(CameraReference.camera_id, CameraReference.features).where(
                CameraReference.camera_id.in_(ids)
            )
        )
    }
    plans = []
    for cam in cameras:
        profile = check_profile(cam)
        cred = creds.get(cam.credential_id) if cam.credential_id is not None else None
        plans.append(
            CheckPlan(
                camera_id=cam.id,
                label=f"{cam.site.code}/{cam.name}",
                site_path=cam.site.path,
                stream_uri=profile.stream_uri if profile else None,
                username=cred.username if cred else None,
                password_encrypted=cred.password_encrypted if cred else None,
                expected_width=profile.width if profile else None,
                expected_height=profile.height if profile else None,
                expected_fps=profile.fps if profile else None,
                snapshot_uri=cam.snapshot_uri,
                reference=refs.get(cam.id),
                thresholds=_numbers(cam.thresholds),
                clock_skew_s=cam.clock_skew_s,
            )
        )
    return plans


def plans_in_scope(session: Session, scope_path: str) -> list[CheckPlan]:
    """Return the plans of every enabled camera in a site subtree ("/" for all)."""
    query = (
        select(Camera)
        .join(Site, Camera.site_id == Site.id)
        .where(Camera.enabled.is_(True), Site.path.startswith(scope_path, autoescape=True))
        .order_by(Site.path, Camera.name)
    )
    return plan_cameras(session, query)


def plans_for(session: Session, camera_ids: Iterable[int]) -> list[CheckPlan]:
    """Return the plans of the given cameras (enabled or not), in the order given."""
    wanted: Sequence[int] = list(dict.fromkeys(camera_ids))
    query = select(Camera).where(Camera.id.in_(wanted))
    plans = {p.camera_id: p for p in plan_cameras(session, query)}
    return [plans[i] for i in wanted if i in plans]
