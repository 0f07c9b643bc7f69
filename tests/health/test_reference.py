"""Reference frames taken from the simulator's streams, and checks that compare against them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from camfleet.db import transaction
from camfleet.models import CameraReference
from health.analysis import ReferenceFeatures, decode_image
from health.reference import (
    CameraNotFound,
    ReferenceFrameError,
    clear_reference,
    find_camera,
    set_reference,
)
from health.status import Status
from health.sweep import check_cameras_now
from sim.launch import start_sim
from sim.spec import PrecinctSpec
from tests.health.sweep_support import Env, make_env, spec_dict, write_spec

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def aimed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrecinctSpec]:
    """Run a precinct with a well-aimed camera, a turned one and a black one."""
    work = tmp_path_factory.mktemp("reference_sim")
    cams = [("live", "live"), ("moved", "moved"), ("black", "black")]
    spec = write_spec(work / "p.toml", spec_dict({"PR": cams}, "127.0.26.100"))
    sim = start_sim([str(work / "p.toml")], work)
    try:
        yield spec
    finally:
        sim.stop()


@pytest.fixture
def env(tmp_path: Path, aimed: PrecinctSpec) -> Env:
    return make_env(tmp_path, f"sqlite:///{tmp_path / 'r.db'}", aimed)


def test_find_camera_by_id_or_site_and_name(env: Env) -> None:
    live = env.reg.camera_ids["PR/live"]
    with env.sessions() as s:
        assert find_camera(s, str(live)).id == live
        assert find_camera(s, "PR/live").id == live
        for bad in ("PR/nope", "999999", "nonsense", "/live", "PR/"):
            with pytest.raises(CameraNotFound):
                find_camera(s, bad)


def stored(session: Session, camera_id: int) -> CameraReference:
    return session.get_one(CameraReference, camera_id)


def test_reference_is_stored_and_used_by_checks(env: Env) -> None:
    live, moved = env.reg.camera_ids["PR/live"], env.reg.camera_ids["PR/moved"]
    saved = set_reference(env.settings, env.sessions, env.vault, live, "installer Aziz")
    assert (saved.width, saved.height) == (640, 360)
    assert saved.sharpness > 0
    with env.sessions() as s:
        row = stored(s, live)
        assert row.set_by == "installer Aziz"
        features = ReferenceFeatures.from_bytes(row.features)
        assert features.sharpness == pytest.approx(saved.sharpness)
        picture = decode_image(row.jpeg)
        assert picture is not None
        assert picture.shape[:2] == (360, 640)
    # The turned camera was aimed like the live one; its reference is that view.
    with transaction(env.sessions) as s:
        s.add(CameraReference(camera_id=moved, jpeg=row.jpeg, features=row.features))
    live_now, moved_now = check_cameras_now(env.settings, env.sessions, env.vault, [live, moved])
    assert live_now.status is Status.OK, live_now.reasons
    assert moved_now.status is Status.VIEW_CHANGED, moved_now.reasons
    assert clear_reference(env.sessions, moved) is True
    assert clear_reference(env.sessions, moved) is False
    (moved_again,) = check_cameras_now(env.settings, env.sessions, env.vault, [moved])
    assert moved_again.status is Status.OK


def test_black_picture_is_refused_unless_forced(env: Env) -> None:
    black = env.reg.camera_ids["PR/black"]
    with pytest.raises(ReferenceFrameError, match="black"):
        set_reference(env.settings, env.sessions, env.vault, black)
    with env.sessions() as s:
        assert s.get(CameraReference, black) is None
    set_reference(env.settings, env.sessions, env.vault, black, force=True)
    with env.sessions() as s:
        assert s.get(CameraReference, black) is not None
