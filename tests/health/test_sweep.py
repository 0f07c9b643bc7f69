"""Sweeps against the simulated precinct over real RTSP: results, confirmation, no overlap,
cancellation, checks on demand, and no password anywhere."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from camfleet.models import Base, CameraState, CheckResult, Sweep
from health.status import Status
from health.sweep import check_cameras_now, run_sweep, start_sweep
from health.sweep_record import SweepBusy, SweepStatus, cancel_sweep
from sim.spec import PrecinctSpec
from tests.health import sweep_support
from tests.health.sweep_support import EXPECTED, PASSWORD, Env, make_env

precinct = sweep_support.precinct

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def env(tmp_path: Path, precinct: PrecinctSpec) -> Env:
    """Return a registered precinct in a fresh SQLite database."""
    return make_env(tmp_path, f"sqlite:///{tmp_path / 'camfleet.db'}", precinct)


def dump_database(sessions: sessionmaker[Session]) -> str:
    """Return every value of every table as text."""
    parts: list[str] = []
    with sessions() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def final_statuses(env: Env) -> dict[str, str]:
    names = {v: k for k, v in env.reg.camera_ids.items()}
    with env.sessions() as s:
        return {names[r.camera_id]: r.hard_status for r in s.scalars(select(CameraState))}


def test_sweep_checks_confirms_and_stores(
    tmp_path: Path,
    db_url: str,
    precinct: PrecinctSpec,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    env = make_env(tmp_path, db_url, precinct)
    seen: list[tuple[int, int]] = []
    summary = run_sweep(
        env.settings, env.sessions, env.vault, on_progress=lambda d, t, c: seen.append((d, t))
    )
    assert summary.status is SweepStatus.COMPLETED, summary.error
    assert (summary.total, summary.done) == (8, 8)
    assert final_statuses(env) == {k: v.value for k, v in EXPECTED.items()}
    failing = sum(1 for v in EXPECTED.values() if v is not Status.OK)
    assert summary.checks == 8 + failing  # one confirming re-check per failure
    assert summary.counts == {
        "ok": 3,
        "black": 1,
        "auth_failed": 1,
        "frozen": 1,
        "unreachable": 1,
        "not_found": 1,
    }
    assert seen[-1] == (8, 8)
    assert all(d <= t for d, t in seen)
    with env.sessions() as s:
        sweep = s.get_one(Sweep, summary.sweep_id)
        assert (sweep.status, sweep.done, sweep.total) == ("completed", 8, 8)
        assert sweep.finished_at is not None
        assert sweep.counts == summary.counts
        rows = s.scalars(select(CheckResult).where(CheckResult.sweep_id == sweep.id)).all()
        assert len(rows) == summary.checks
        states = s.scalars(select(CameraState)).all()
        assert all(st.state_type == "hard" for st in states)
        live = s.get_one(CameraState, env.reg.camera_ids["P1/live"])
        assert live.thumbnail
        assert live.thumbnail[:2] == b"\xff\xd8"
    out, err = capfd.readouterr()
    shown = out + err + caplog.text + dump_database(env.sessions)
    assert PASSWORD not in shown


def test_scoped_sweep_touches_only_its_site(env: Env) -> None:
    summary = run_sweep(env.settings, env.sessions, env.vault, "P2", concurrency=4)
    assert summary.status is SweepStatus.COMPLETED
    assert summary.total == 4
    assert set(final_statuses(env)) == {k for k in EXPECTED if k.startswith("P2/")}
    with env.sessions() as s:
        assert s.get_one(Sweep, summary.sweep_id).scope_path.endswith("/P2/")


def test_no_overlap_and_cancellation(env: Env) -> None:
    settings = env.settings.model_copy(update={"confirm_delay_s": 5.0})
    sweep_id = start_sweep(settings, env.sessions, env.vault, None, "test", concurrency=2)
    with pytest.raises(SweepBusy):
        run_sweep(settings, env.sessions, env.vault, "P1")
    time.sleep(1.0)
    assert cancel_sweep(env.sessions, sweep_id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with env.sessions() as s:
            sweep = s.get_one(Sweep, sweep_id)
            if sweep.status != "running":
                break
        time.sleep(0.1)
    assert sweep.status == "cancelled"
    assert sweep.done == sweep.total == 8
    assert sweep.counts.get("not_checked", 0) + sweep.counts.get("unconfirmed", 0) > 0
    with env.sessions() as s:
        # Consistent: every stored check's camera has a state pointing at a stored check.
        checks = {r.id: r for r in s.scalars(select(CheckResult))}
        for st in s.scalars(select(CameraState)):
            assert st.last_check_id in checks
            assert checks[st.last_check_id].camera_id == st.camera_id
    # The scope is free again.
    again = run_sweep(env.settings, env.sessions, env.vault, "P1")
    assert again.status is SweepStatus.COMPLETED
    assert again.done == 4


def test_check_cameras_now_answers_within_the_deadline(env: Env) -> None:
    ids = [env.reg.camera_ids[k] for k in ("P2/live2", "P1/black", "P2/refused")]
    started = time.monotonic()
    outcomes = check_cameras_now(env.settings, env.sessions, env.vault, [*ids, 424242])
    elapsed = time.monotonic() - started
    assert [o.camera_id for o in outcomes] == ids
    assert [o.status for o in outcomes] == [Status.OK, Status.BLACK, Status.UNREACHABLE]
    assert elapsed < env.settings.check_deadline_s + 3
    with env.sessions() as s:
        rows = s.scalars(select(CheckResult)).all()
        assert len(rows) == 3
        assert all(r.sweep_id is None for r in rows)
        black = s.get_one(CameraState, ids[1])
        assert (black.state_type, black.status) == ("soft", "black")


def test_check_now_with_confirmation_makes_failures_hard(env: Env) -> None:
    black = env.reg.camera_ids["P1/black"]
    (outcome,) = check_cameras_now(env.settings, env.sessions, env.vault, [black], confirm=True)
    assert outcome.status is Status.BLACK
    with env.sessions() as s:
        assert s.get_one(CameraState, black).state_type == "hard"
        assert len(s.scalars(select(CheckResult)).all()) == 2
