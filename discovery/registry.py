"""Register interrogated devices into a precinct: an idempotent upsert, one transaction each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from camfleet.credentials import candidate_credentials
from camfleet.models import Camera, Credential, MediaProfile, Site
from camfleet.sites import get_site
from camfleet.timeutil import utcnow
from discovery.model import DeviceFacts, Outcome

_CAMERA_FIELDS = (
    "endpoint_uuid",
    "manufacturer",
    "model",
    "firmware",
    "serial",
    "mac",
    "hardware_id",
    "host",
    "onvif_address",
    "snapshot_uri",
    "main_profile_token",
    "check_profile_token",
)


@dataclass(frozen=True)
class RegistrationResult:
    """What registration did with one device."""

    outcome: Outcome
    reason: str
    camera_id: int | None = None
    camera_name: str | None = None
    registered_site: str | None = None


def find_camera(session: Session, device: DeviceFacts) -> Camera | None:
    """Return the registered camera this device is: by endpoint UUID, serial, then MAC."""
    if device.endpoint_uuid:
        found = session.scalars(
            select(Camera).where(Camera.endpoint_uuid == device.endpoint_uuid)
        ).first()
        if found is not None:
            return found
    if device.manufacturer and device.serial:
        found = session.scalars(
            select(Camera)
            .where(Camera.manufacturer == device.manufacturer, Camera.serial == device.serial)
            .order_by(Camera.id)
        ).first()
        if found is not None:
            return found
    if device.mac:
        return session.scalars(
            select(Camera).where(Camera.mac == device.mac).order_by(Camera.id)
        ).first()
    return None


def _fingerprint(camera: Camera) -> tuple[object, ...]:
    fields = tuple(getattr(camera, name) for name in _CAMERA_FIELDS)
    profiles = tuple(
        sorted(
            (p.token, p.name, p.encoding, p.width, p.height, p.fps, p.stream_uri)
            for p in camera.profiles
        )
    )
    return (camera.site_id, camera.name, camera.credential_id, *fields, profiles)


def _free_name(session: Session, site: Site, wanted: str, camera_id: int | None) -> str:
    taken = {
        name
        for name, cid in session.execute(
            select(Camera.name, Camera.id).where(Camera.site_id == site.id)
        )
        if cid != camera_id
    }
    if wanted not in taken:
        return wanted
    for n in range(2, 1000):
        candidate = f"{wanted[:110]}-{n}"
        if candidate not in taken:
            return candidate
    raise ValueError("no free camera name")


def _credential_id(session: Session, site: Site, device: DeviceFacts) -> int | None:
    if device.credential_id is not None:
        row = session.get(Credential, device.credential_id)
        if row is not None:
            return row.id
    if device.username:
        for cred in candidate_credentials(session, site):
            if cred.username == device.username:
                return cred.id
    return None


def _apply(session: Session, camera: Camera, device: DeviceFacts) -> None:
    for name in _CAMERA_FIELDS:
        value = getattr(device, name)
        if name == "endpoint_uuid":
            if value is None or value == camera.endpoint_uuid:
                continue
            clash = session.scalars(select(Camera.id).where(Camera.endpoint_uuid == value)).first()
            if clash is not None and clash != camera.id:
                continue
        # A field the device did not report this time keeps what was known.
        if value is not None:
            setattr(camera, name, value)
    if device.clock_skew_s is not None:
        camera.clock_skew_s = device.clock_skew_s
    by_token = {p.token: p for p in camera.profiles}
    wanted = {p.token for p in device.profiles}
    for profile in list(camera.profiles):
        if profile.token not in wanted:
            camera.profiles.remove(profile)
    for facts in device.profiles:
        row = by_token.get(facts.token)
        if row is None:
            row = MediaProfile(token=facts.token)
            camera.profiles.append(row)
        row.name = facts.name
        row.encoding = facts.encoding
        row.width = facts.width
        row.height = facts.height
        row.fps = facts.fps
        row.stream_uri = facts.stream_uri


def register_device(
    session: Session, site: Site, device: DeviceFacts, *, move: bool = False
) -> RegistrationResult:
    """Insert or update the camera a device is, in the caller's transaction."""
    camera = find_camera(session, device)
    if camera is not None and camera.site_id != site.id and not move:
        other = session.get(Site, camera.site_id)
        code = other.code if other else "?"
        return RegistrationResult(
            Outcome.CONFLICT,
            f"already registered to {code} as {camera.name}; left there (move it explicitly)",
            camera.id,
            camera.name,
            code,
        )
    now = utcnow()
    credential_id = _credential_id(session, site, device)
    if camera is None:
        name = _free_name(session, site, device.name or f"camera-{device.host}", None)
        camera = Camera(site_id=site.id, name=name, source="onvif", registered_at=now)
        session.add(camera)
        _apply(session, camera, device)
        camera.credential_id = credential_id
        camera.last_seen_at = now
        session.flush()
        return RegistrationResult(
            Outcome.REGISTERED, "new camera", camera.id, camera.name, site.code
        )
    before = _fingerprint(camera)
    old_host, old_site_id = camera.host, camera.site_id
    moved = camera.site_id != site.id
    if moved:
        camera.site_id = site.id
        camera.name = _free_name(session, site, camera.name, camera.id)
    _apply(session, camera, device)
    if credential_id is not None:
        camera.credential_id = credential_id
    camera.last_seen_at = now
    session.flush()
    if _fingerprint(camera) == before:
        return RegistrationResult(
            Outcome.UNCHANGED, "already registered", camera.id, camera.name, site.code
        )
    reasons = []
    if moved:
        origin = session.get(Site, old_site_id)
        reasons.append(f"moved from {origin.code if origin else '?'}")
    if old_host != camera.host:
        reasons.append(f"address changed from {old_host} to {camera.host}")
    return RegistrationResult(
        Outcome.UPDATED,
        "; ".join(reasons) or "details changed",
        camera.id,
        camera.name,
        site.code,
    )


def register_devices(
    sessions: sessionmaker[Session],
    site_code: str,
    devices: Sequence[DeviceFacts],
    *,
    move: bool = False,
    dry_run: bool = False,
) -> list[RegistrationResult]:
    """Register each device in its own transaction (rolled back on a dry run)."""
    results = []
    for device in devices:
        with sessions() as session:
            try:
                site = get_site(session, site_code)
                result = register_device(session, site, device, move=move)
                if dry_run:
                    session.rollback()
                else:
                    session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                result = RegistrationResult(
                    Outcome.CONFLICT, f"database refused the camera ({type(exc).__name__})"
                )
        results.append(result)
    return results
