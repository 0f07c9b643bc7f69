"""Registration is an idempotent upsert keyed by endpoint, serial, then MAC."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from camfleet.credentials import add_credential
from camfleet.db import transaction
from camfleet.models import Camera, MediaProfile
from camfleet.register import import_register
from camfleet.sites import get_site
from camfleet.vault import Vault
from discovery.manual import ManualCameraError, add_manual_camera
from discovery.model import DeviceFacts, Outcome, ProfileFacts
from discovery.registry import register_devices
from tests.discovery.helpers import register_csv

A, B = "TST-01-0001", "TST-01-0002"
VAULT = Vault(Fernet(Fernet.generate_key()))
DEVICE = DeviceFacts(
    host="10.1.1.11",
    onvif_address="http://10.1.1.11/onvif/device_service",
    endpoint_uuid="urn:uuid:11111111-2222-3333-4444-555555555555",
    name="entrance",
    manufacturer="Camsim",
    model="CS-2000",
    firmware="1.0.0",
    serial="CS0000000001",
    mac="02:00:00:00:00:01",
    clock_skew_s=0.0,
    profiles=(
        ProfileFacts("main", "Main", "H264", 1280, 720, 15.0, "rtsp://10.1.1.11:554/main"),
        ProfileFacts("sub", "Sub", "H264", 640, 360, 10.0, "rtsp://10.1.1.11:554/sub"),
    ),
    main_profile_token="main",
    check_profile_token="sub",
    username="admin",
)


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Return sessions on a database holding two precincts and one login."""
    with transaction(sessions) as session:
        csv = register_csv([(A, 2, "10.1.1.0/24"), (B, 2, "10.1.2.0/24")])
        import_register(session, csv.encode())
        add_credential(session, VAULT, None, "admin", "pw")
    return sessions


def _cameras(sessions: sessionmaker[Session]) -> list[Camera]:
    with sessions() as session:
        return list(session.scalars(select(Camera).order_by(Camera.id)))


def _register(
    sessions: sessionmaker[Session], device: DeviceFacts, site: str = A, **kw: bool
) -> tuple[Outcome, str, int | None]:
    (result,) = register_devices(sessions, site, [device], **kw)
    return result.outcome, result.reason, result.camera_id


def test_register_then_unchanged(db: sessionmaker[Session]) -> None:
    outcome, _, camera_id = _register(db, DEVICE)
    assert outcome is Outcome.REGISTERED
    assert _register(db, DEVICE)[0] is Outcome.UNCHANGED
    (camera,) = _cameras(db)
    assert camera.id == camera_id
    assert (camera.name, camera.serial, camera.mac) == ("entrance", "CS0000000001", DEVICE.mac)
    assert camera.credential_id is not None
    with db() as session:
        uris = session.scalars(select(MediaProfile.stream_uri).order_by(MediaProfile.token))
        assert list(uris) == ["rtsp://10.1.1.11:554/main", "rtsp://10.1.1.11:554/sub"]


def test_a_new_address_updates_in_place(db: sessionmaker[Session]) -> None:
    _, _, camera_id = _register(db, DEVICE)
    moved = replace(
        DEVICE,
        host="10.1.1.57",
        onvif_address="http://10.1.1.57/onvif/device_service",
        profiles=tuple(
            replace(p, stream_uri=p.stream_uri.replace(".11:", ".57:"))  # type: ignore[union-attr]
            for p in DEVICE.profiles
        ),
    )
    outcome, reason, same_id = _register(db, moved)
    assert outcome is Outcome.UPDATED
    assert "address changed from 10.1.1.11 to 10.1.1.57" in reason
    assert same_id == camera_id
    (camera,) = _cameras(db)
    assert camera.host == "10.1.1.57"


@pytest.mark.parametrize("keep", ["serial", "mac"])
def test_recognised_without_endpoint(db: sessionmaker[Session], keep: str) -> None:
    _register(db, DEVICE)
    other = replace(DEVICE, endpoint_uuid=None, host="10.1.1.99")
    if keep == "mac":
        other = replace(other, serial=None)
    assert _register(db, other)[0] is Outcome.UPDATED
    assert len(_cameras(db)) == 1


def test_another_precincts_camera_is_a_conflict_until_moved(db: sessionmaker[Session]) -> None:
    _register(db, DEVICE, A)
    (result,) = register_devices(db, B, [DEVICE])
    assert result.outcome is Outcome.CONFLICT
    assert result.registered_site == A
    with db() as session:
        assert get_site(session, A).id == session.scalars(select(Camera.site_id)).one()
    outcome, reason, _ = _register(db, DEVICE, B, move=True)
    assert outcome is Outcome.UPDATED
    assert reason.startswith(f"moved from {A}")
    with db() as session:
        assert get_site(session, B).id == session.scalars(select(Camera.site_id)).one()


def test_dry_run_stores_nothing(db: sessionmaker[Session]) -> None:
    assert _register(db, DEVICE, dry_run=True)[0] is Outcome.REGISTERED
    assert _cameras(db) == []


def test_names_stay_unique_within_a_precinct(db: sessionmaker[Session]) -> None:
    _register(db, DEVICE)
    twin = replace(
        DEVICE, endpoint_uuid="urn:uuid:2", serial="CS2", mac="02:00:00:00:00:02", host="10.1.1.12"
    )
    _register(db, twin)
    assert [c.name for c in _cameras(db)] == ["entrance", "entrance-2"]


def test_changed_profiles_replace_the_old_ones(db: sessionmaker[Session]) -> None:
    _register(db, DEVICE)
    fewer = replace(DEVICE, profiles=DEVICE.profiles[:1], check_profile_token="main")
    assert _register(db, fewer)[0] is Outcome.UPDATED
    with db() as session:
        assert session.scalar(select(func.count()).select_from(MediaProfile)) == 1


def test_manual_camera_keeps_credentials_out_of_the_uri(db: sessionmaker[Session]) -> None:
    vault = VAULT
    with transaction(db) as session:
        site = get_site(session, A)
        camera = add_manual_camera(
            session,
            vault,
            site,
            "yard",
            "rtsp://guard:Pw-manual-1@10.1.1.30:554/ch1",
            "rtsp://10.1.1.30:554/ch2",
        )
        camera_id = camera.id
    with db() as session:
        camera = session.get(Camera, camera_id)
        assert camera is not None
        assert (camera.source, camera.host, camera.check_profile_token) == (
            "manual",
            "10.1.1.30",
            "sub",
        )
        uris = sorted(p.stream_uri or "" for p in camera.profiles)
        assert uris == ["rtsp://10.1.1.30:554/ch1", "rtsp://10.1.1.30:554/ch2"]
        assert camera.credential_id is not None
    with transaction(db) as session, pytest.raises(ManualCameraError) as err:
        add_manual_camera(
            session, vault, get_site(session, A), "gate", "rtsp://guard:Other-9@10.1.1.31/ch1"
        )
    assert "Other-9" not in str(err.value)
    with transaction(db) as session, pytest.raises(ManualCameraError):
        add_manual_camera(session, vault, get_site(session, A), "bad", "http://10.1.1.32/x")


@pytest.mark.parametrize(
    "uri",
    [
        "rtsp://guard:Se/cret-7@10.1.1.33:554/ch1",
        "rtsp://guard:Se#cret-7@10.1.1.33/ch1",
        "rtsp://guard:Se?cret-7@10.1.1.33/ch1",
        "rtsp://guard:Secret-7@10.1.1.33:99999/ch1",
        "rtsp://guard:Secret-7@10.1.1.33:cret/ch1",
    ],
)
def test_manual_uri_that_hides_its_login_is_refused(db: sessionmaker[Session], uri: str) -> None:
    with transaction(db) as session, pytest.raises(ManualCameraError) as err:
        add_manual_camera(session, VAULT, get_site(session, A), "odd", uri)
    assert "cret" not in str(err.value)
    with db() as session:
        stored = session.scalars(select(MediaProfile.stream_uri)).all()
    assert not any("cret" in (u or "") for u in stored)
