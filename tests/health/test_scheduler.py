"""The embedded scheduler: jittered first run, repeated sweeps, skipped ticks, clean stop."""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from camfleet.models import Sweep
from health.scheduler import SweepScheduler, next_delay
from health.sweep import SweepSummary, start_sweep
from sim.spec import PrecinctSpec
from tests.health import sweep_support
from tests.health.sweep_support import Env, make_env

precinct = sweep_support.precinct

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def env(tmp_path: Path, precinct: PrecinctSpec) -> Env:
    return make_env(tmp_path, f"sqlite:///{tmp_path / 's.db'}", precinct)


def test_next_delay_is_interval_plus_bounded_jitter() -> None:
    rng = random.Random(7)
    delays = [next_delay(3600.0, 30.0, rng) for _ in range(200)]
    assert all(3600.0 <= d <= 3630.0 for d in delays)
    assert max(delays) - min(delays) > 10  # actually jittered
    assert next_delay(60.0, 0.0, rng) == 60.0


def test_scheduler_sweeps_repeatedly_and_stops(env: Env) -> None:
    # Settings bound the interval to ≥ 60 s; a copy without validation makes the test quick.
    settings = env.settings.model_copy(update={"sweep_interval_s": 0.5, "sweep_jitter_s": 0.3})
    done: list[SweepSummary] = []
    scheduler = SweepScheduler(settings, env.sessions, env.vault, on_sweep=done.append)
    scheduler.start()
    try:
        deadline = time.monotonic() + 60
        while len(done) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert len(done) >= 2
    assert all(s.done == s.total == 8 for s in done[:2])
    with env.sessions() as s:
        sweeps = s.scalars(select(Sweep).order_by(Sweep.id)).all()
    assert all(sw.trigger == "schedule" for sw in sweeps)
    assert all(sw.status in {"completed", "cancelled"} for sw in sweeps)
    # No overlap: each sweep started after the previous one finished.
    for a, b in itertools.pairwise(sweeps):
        assert a.finished_at is not None
        assert a.finished_at <= b.started_at


def test_tick_skips_while_another_sweep_runs(env: Env) -> None:
    settings = env.settings.model_copy(update={"confirm_delay_s": 2.0})
    manual = start_sweep(settings, env.sessions, env.vault, "P1", "manual")
    scheduler = SweepScheduler(env.settings, env.sessions, env.vault)
    assert scheduler.tick() is None
    assert scheduler.skipped == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with env.sessions() as s:
            if s.get_one(Sweep, manual).status != "running":
                break
        time.sleep(0.1)
    summary = scheduler.tick()
    assert summary is not None
    assert summary.done == summary.total == 8


def test_stop_cancels_a_sweep_in_progress(env: Env) -> None:
    settings = env.settings.model_copy(
        update={"sweep_interval_s": 3600.0, "sweep_jitter_s": 0.0, "confirm_delay_s": 30.0}
    )
    scheduler = SweepScheduler(settings, env.sessions, env.vault)
    scheduler.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with env.sessions() as s:
            sweep = s.scalars(select(Sweep)).first()
            if sweep is not None and sweep.done > 0:
                break
        time.sleep(0.1)
    started = time.monotonic()
    scheduler.stop()
    assert time.monotonic() - started < 15
    with env.sessions() as s:
        (sweep,) = s.scalars(select(Sweep)).all()
    assert sweep.status == "cancelled"
