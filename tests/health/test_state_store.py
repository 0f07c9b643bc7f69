"""Storing outcomes and sweep records, on SQLite and PostgreSQL; building check plans."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from camfleet.config import load_settings
from camfleet.db import transaction
from camfleet.models import CameraState, CheckResult, MediaProfile, Site, Sweep
from camfleet.timeutil import utcnow
from camfleet.vault import Vault
from health.check import CheckOutcome
from health.state import StateRules
from health.status import Reason, Status, severity_of
from health.store import CheckRecord, load_states, record_checks
from health.sweep_record import (
    SweepBusy,
    SweepStatus,
    cancel_sweep,
    claim_sweep,
    finish_sweep,
    record_progress,
    scopes_overlap,
)
from health.targets import capture_options, check_profile, plans_for, plans_in_scope
from sim.spec import parse_spec
from tests.health.sweep_support import PASSWORD, SECRET_KEY, register, spec_dict

RULES = StateRules(confirm_attempts=2, flap_window=10, flap_changes=4)


@pytest.fixture
def vault() -> Vault:
    return Vault.from_settings(load_settings(secret_key=SECRET_KEY))


@pytest.fixture
def cams(sessions: sessionmaker[Session], vault: Vault) -> dict[str, int]:
    spec = parse_spec(
        spec_dict({"PA": [("a", "live"), ("b", "black")], "PB": [("c", "live")]}, "127.0.26.200")
    )
    return register(sessions, vault, spec).camera_ids


def outcome(camera_id: int, status: Status, thumb: bytes | None = b"\xff\xd8jpeg") -> CheckOutcome:
    reasons = [] if status is Status.OK else [Reason(status.value, f"it is {status}")]
    return CheckOutcome(
        camera_id=camera_id,
        status=status,
        severity=severity_of(status),
        reasons=reasons,
        measurements={"fps": 10.0, "bad": float("nan")},
        thumbnail=thumb,
        started_at=utcnow(),
        duration_s=1.25,
    )


def new_sweep(sessions: sessionmaker[Session], code: str | None = None) -> int:
    with transaction(sessions) as s:
        site = s.scalars(select(Site).where(Site.code == code)).one() if code else None
        return claim_sweep(s, site, "test", "tests").id


def test_failure_confirmed_over_two_attempts(
    sessions: sessionmaker[Session], cams: dict[str, int]
) -> None:
    a, b = cams["PA/a"], cams["PA/b"]
    sweep = new_sweep(sessions)
    with transaction(sessions) as s:
        states = record_checks(
            s,
            sweep,
            [CheckRecord(a, 1, outcome(a, Status.OK)), CheckRecord(b, 1, outcome(b, Status.BLACK))],
            RULES,
        )
    assert states[a].hard_status is Status.OK
    assert states[b].state_type.value == "soft"
    assert states[b].hard_status is Status.BLACK
    with transaction(sessions) as s:
        states = record_checks(s, sweep, [CheckRecord(b, 2, outcome(b, Status.BLACK, None))], RULES)
    assert states[b].state_type.value == "hard"
    with sessions() as s:
        row = s.get_one(CameraState, b)
        assert (row.status, row.hard_status, row.attempt) == ("black", "black", 2)
        assert row.reasons == [{"code": "black", "message": "it is black"}]
        assert row.measurements == {"fps": 10.0, "bad": None}
        assert row.thumbnail == b"\xff\xd8jpeg"  # kept from the first attempt
        assert row.recent == ["black", "black"]
        last = s.get_one(CheckResult, row.last_check_id)
        assert (last.attempt, last.sweep_id, last.duration_ms) == (2, sweep, 1250)
        assert load_states(s, [a, b])[a].status is Status.OK


def test_storing_a_batch_again_adds_nothing(
    sessions: sessionmaker[Session], cams: dict[str, int]
) -> None:
    a = cams["PA/a"]
    sweep = new_sweep(sessions)
    batch = [
        CheckRecord(a, 1, outcome(a, Status.FROZEN)),
        CheckRecord(a, 2, outcome(a, Status.FROZEN)),
    ]
    for _ in range(2):
        with transaction(sessions) as s:
            record_checks(s, sweep, batch, RULES)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(CheckResult)) == 2
        assert s.get_one(CameraState, a).recent == ["frozen", "frozen"]


def test_checks_outside_sweeps_are_all_kept(
    sessions: sessionmaker[Session], cams: dict[str, int]
) -> None:
    a = cams["PA/a"]
    for _ in range(2):
        with transaction(sessions) as s:
            record_checks(s, None, [CheckRecord(a, 1, outcome(a, Status.OK))], RULES)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(CheckResult)) == 2


def test_overlapping_sweeps_refused_until_owner_is_stale(
    sessions: sessionmaker[Session], cams: dict[str, int]
) -> None:
    whole = new_sweep(sessions, "TR-01")
    with pytest.raises(SweepBusy):
        new_sweep(sessions, "PA")  # inside the running sweep's subtree
    with pytest.raises(SweepBusy):
        new_sweep(sessions)  # the whole fleet contains it
    with transaction(sessions) as s:
        s.execute(
            update(Sweep)
            .where(Sweep.id == whole)
            .values(heartbeat_at=utcnow() - timedelta(hours=1))
        )
    part = new_sweep(sessions, "PA")
    with pytest.raises(SweepBusy):
        new_sweep(sessions, "PA")
    other = new_sweep(sessions, "PB")  # a disjoint site runs alongside
    with sessions() as s:
        stale = s.get_one(Sweep, whole)
        assert stale.status == SweepStatus.INTERRUPTED
        assert stale.finished_at is not None
        assert "no heartbeat" in (stale.error or "")
        assert s.get_one(Sweep, part).status == s.get_one(Sweep, other).status == "running"


def test_progress_cancel_and_finish(sessions: sessionmaker[Session], cams: dict[str, int]) -> None:
    sweep = new_sweep(sessions)
    with transaction(sessions) as s:
        assert record_progress(s, sweep, 3, 1, {"ok": 1}) is False
    assert cancel_sweep(sessions, sweep) is True
    with transaction(sessions) as s:
        assert record_progress(s, sweep, 3, 2, {"ok": 2}) is True
        finish_sweep(s, sweep, SweepStatus.CANCELLED)
    assert cancel_sweep(sessions, sweep) is False  # no longer running
    with sessions() as s:
        row = s.get_one(Sweep, sweep)
        assert (row.status, row.total, row.done, row.counts) == ("cancelled", 3, 2, {"ok": 2})


def test_scopes_overlap() -> None:
    assert scopes_overlap("/A/", "/A/B/")
    assert scopes_overlap("/A/B/", "/A/")
    assert scopes_overlap("/", "/A/")
    assert not scopes_overlap("/A/B/", "/A/C/")


def test_plans_decrypt_only_when_targeted(
    sessions: sessionmaker[Session], cams: dict[str, int], vault: Vault
) -> None:
    with sessions() as s:
        plans = plans_in_scope(s, "/TR/TR-01/TR-01-1/PA/")
        assert [p.label for p in plans] == ["PA/a", "PA/b"]
        assert PASSWORD not in repr(plans)
        target = plans[0].target(vault)
        assert not isinstance(target, CheckOutcome)
        assert target.password == PASSWORD
        assert PASSWORD not in repr(target)
        assert target.stream_uri.endswith("/PA/a/sub")
        assert "@" not in target.stream_uri
        assert (target.expected_width, target.expected_height, target.expected_fps) == (
            640,
            360,
            10.0,
        )
        assert plans_for(s, [cams["PB/c"], 999_999, cams["PA/a"]])[0].label == "PB/c"


def test_check_profile_falls_back_to_smallest_h264(
    sessions: sessionmaker[Session], cams: dict[str, int], vault: Vault
) -> None:
    with transaction(sessions) as s:
        cam = s.get_one(MediaProfile, 1).camera
        cam.check_profile_token = None
        cam.profiles.append(
            MediaProfile(
                token="mjpeg", encoding="JPEG", width=320, height=180, stream_uri="rtsp://x/m"
            )
        )
        s.flush()
        chosen = check_profile(cam)
        assert chosen is not None
        assert chosen.token == "sub"
        for p in cam.profiles:
            p.stream_uri = None
        s.flush()
        assert check_profile(cam) is None
        camera_id = cam.id
    with sessions() as s:
        (plan,) = plans_for(s, [camera_id])
    missing = plan.target(vault)
    assert isinstance(missing, CheckOutcome)
    assert missing.status is Status.NOT_FOUND


def test_unreadable_credential_is_an_auth_failure(
    sessions: sessionmaker[Session], cams: dict[str, int]
) -> None:
    other = Vault.from_settings(load_settings(secret_key="another-long-passphrase-0123456789"))
    with sessions() as s:
        (plan,) = plans_for(s, [cams["PA/a"]])
    result = plan.target(other)
    assert isinstance(result, CheckOutcome)
    assert result.status is Status.AUTH_FAILED


def test_capture_options_follow_settings() -> None:
    settings = load_settings(sample_window_s=1.0, check_deadline_s=4.0, open_timeout_s=2.0)
    options = capture_options(settings)
    assert options.ffmpeg_thread_safe
    assert options.window_s == 1.0
    assert options.deadline_s >= options.open_timeout_s + options.window_s + options.read_timeout_s


def test_pool_size_caps_threads_per_process() -> None:
    from health.pool import MAX_THREADS_PER_PROCESS, pool_size

    assert pool_size(64, 2) == pool_size(64, 2, 10_000)
    assert (pool_size(64, 2).processes, pool_size(64, 2).threads) == (2, 32)
    assert (pool_size(64, 1).processes, pool_size(64, 1).threads) == (1, 64)
    big = pool_size(256, 1)
    assert big.processes == 4
    assert big.threads <= MAX_THREADS_PER_PROCESS
    small = pool_size(64, 2, checks=3)  # a precinct's few cameras: no idle threads
    assert small.concurrency <= 4
    assert small.processes <= 2
    assert pool_size(1, 8).processes == 1


def test_sweep_of_a_site_without_cameras_completes_at_once(
    sessions: sessionmaker[Session], cams: dict[str, int], tmp_path: Path, db_url: str
) -> None:
    from health.sweep import run_sweep
    from tests.health.sweep_support import test_settings

    with transaction(sessions) as s:
        s.add(Site(code="EMPTY", name="Empty", level="precinct", path="/EMPTY/"))
    settings = test_settings(tmp_path, db_url)
    summary = run_sweep(settings, sessions, Vault.from_settings(settings), "EMPTY")
    assert summary.status is SweepStatus.COMPLETED
    assert (summary.total, summary.done, summary.checks) == (0, 0, 0)
    with sessions() as s:
        assert s.get_one(Sweep, summary.sweep_id).status == "completed"
