"""Sweeps survive killed processes: a killed checker is replaced, a killed sweep is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from camfleet.models import CameraState, CheckResult, Sweep
from health.sweep import SweepSummary, run_sweep
from health.sweep_record import SweepStatus
from sim.spec import PrecinctSpec
from tests.health import sweep_support
from tests.health.sweep_support import EXPECTED, PASSWORD, Env, make_env

precinct = sweep_support.precinct

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


def checker_pids(parent: int) -> list[int]:
    """Return the spawned checker processes of a process."""
    found = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(pid))
    return found


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def assert_consistent(env: Env) -> None:
    """Every state points at a stored check of its own camera; no sweep is left running."""
    with env.sessions() as s:
        checks = {r.id: r.camera_id for r in s.scalars(select(CheckResult))}
        for st in s.scalars(select(CameraState)):
            assert checks.get(st.last_check_id) == st.camera_id


@pytest.fixture
def env(tmp_path: Path, precinct: PrecinctSpec) -> Env:
    return make_env(tmp_path, f"sqlite:///{tmp_path / 'p.db'}", precinct)


def test_killed_checker_process_is_replaced(tmp_path: Path, precinct: PrecinctSpec) -> None:
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", precinct)
    result: list[SweepSummary] = []
    thread = threading.Thread(
        target=lambda: result.append(run_sweep(env.settings, env.sessions, env.vault))
    )
    thread.start()
    wait_for(lambda: len(checker_pids(os.getpid())) == 2)
    time.sleep(0.8)  # the checkers are ready and in the middle of their first checks
    victim = checker_pids(os.getpid())[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(60)
    (summary,) = result
    assert summary.status is SweepStatus.COMPLETED, summary.error
    assert summary.done == summary.total == 8
    assert "not_checked" not in summary.counts
    with env.sessions() as s:
        states = {r.camera_id: r.hard_status for r in s.scalars(select(CameraState))}
    assert sorted(states) == sorted(env.reg.camera_ids.values())
    names = {v: k for k, v in env.reg.camera_ids.items()}
    assert {names[c]: s for c, s in states.items()} == {k: v.value for k, v in EXPECTED.items()}
    assert_consistent(env)


SWEEP_SCRIPT = """
import sys
from pathlib import Path
from camfleet.db import make_engine, session_factory
from camfleet.vault import Vault
from health.sweep import run_sweep
from tests.health.sweep_support import test_settings

if __name__ == "__main__":
    tmp, url = Path(sys.argv[1]), sys.argv[2]
    settings = test_settings(tmp, url, confirm_delay_s=3.0, concurrency=2, worker_processes=1)
    sessions = session_factory(make_engine(url))
    run_sweep(settings, sessions, Vault.from_settings(settings))
"""


def test_killed_sweep_is_interrupted_and_next_sweep_checks_all(
    tmp_path: Path, precinct: PrecinctSpec
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    env = make_env(tmp_path, url, precinct)
    script = tmp_path / "sweep_once.py"
    script.write_text(SWEEP_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def some_done() -> bool:
            with env.sessions() as s:
                sweep = s.scalars(select(Sweep)).first()
                return sweep is not None and 0 < sweep.done < sweep.total

        wait_for(some_done)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    with env.sessions() as s:
        (killed,) = s.scalars(select(Sweep)).all()
        assert killed.status == "running"
        assert killed.done < killed.total
    assert_consistent(env)
    time.sleep(1.5)  # the dead sweep's heartbeat goes stale
    summary = run_sweep(env.settings, env.sessions, env.vault, stale_s=1.0)
    assert summary.status is SweepStatus.COMPLETED
    assert summary.done == summary.total == 8
    with env.sessions() as s:
        old = s.get_one(Sweep, killed.id)
        assert old.status == "interrupted"
        assert old.finished_at is not None
        checked = set(
            s.scalars(select(CheckResult.camera_id).where(CheckResult.sweep_id == summary.sweep_id))
        )
    assert checked == set(env.reg.camera_ids.values())
    assert_consistent(env)
    assert "Traceback" not in output
    assert PASSWORD not in output


def test_checker_stuck_past_the_deadline_is_replaced(env: Env) -> None:
    from dataclasses import replace

    from health.pool import CheckPool, PoolSize
    from health.targets import capture_options, plans_for

    options = replace(capture_options(env.settings), deadline_s=4.0)
    with env.sessions() as s:
        (plan,) = plans_for(s, [env.reg.camera_ids["P1/live"]])
    with CheckPool(PoolSize(1, 4)) as pool:
        wait_for(lambda: pool.collect(0.05) == [] and pool.ready)
        (victim,) = pool.worker_pids()
        os.kill(victim, signal.SIGSTOP)  # a checker that hangs, threads and all
        started = time.monotonic()
        pool.submit((plan.camera_id, 1), lambda: plan.target(env.vault), options)
        results = []
        while not results:
            results = pool.collect(0.2)
        waited = time.monotonic() - started
        ((key, outcome),) = results
        assert key == (plan.camera_id, 1)
        assert outcome is not None
        assert outcome.reasons[0].code == "check_deadline"
        assert 4.0 <= waited < 10.0
        assert pool.restarts == 1
        assert victim not in pool.worker_pids()
        pool.submit((plan.camera_id, 2), lambda: plan.target(env.vault), options)
        results = []
        while not results:
            results = pool.collect(0.2)
        assert results[0][1] is not None
        assert results[0][1].status.value == "ok"
