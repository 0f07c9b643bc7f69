"""Shared fixtures: the simulated precinct, on loopback or inside a network namespace pair.

Fixtures:
- ``sim_precinct`` (session): ``python -m sim up sim/precincts/all_faults.toml`` on 127.0.20.x;
  yields the loaded PrecinctSpec.
- ``sim_netns`` (session): the same precinct inside ``<prefix>-cams``, multicast discovery on;
  yields a SimNetns (namespace names, NVR address, spec).
- ``sim_netns_factory`` (function): start another precinct in a fresh namespace pair.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from sim import launch, netns
from sim.launch import SimNetns, SimProcess
from sim.runner import precinct_file
from sim.spec import PrecinctSpec, load_spec

ALL_FAULTS = precinct_file("all_faults")

_live_processes: list[SimProcess] = []
_live_pairs: list[netns.NetnsPair] = []


def _cleanup_at_exit() -> None:
    """Kill simulator processes and namespaces a crashed or interrupted run left behind."""
    for sim in _live_processes:
        sim.kill()
    for pair in _live_pairs:
        pair.destroy()


atexit.register(_cleanup_at_exit)


def start_sim(args: Sequence[str], workdir: Path) -> SimProcess:
    """Start a simulator process that the interpreter's exit will kill if a test does not."""
    sim = launch.start_sim(args, workdir)
    _live_processes.append(sim)
    return sim


def stop_sim(sim: SimProcess) -> None:
    """Stop a simulator process and assert that it exited cleanly."""
    try:
        code = sim.stop()
    finally:
        if sim in _live_processes:
            _live_processes.remove(sim)
    assert code == 0, f"simulator exited with {code}:\n{sim.log_tail()}"


@pytest.fixture(scope="session")
def sim_precinct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrecinctSpec]:
    """Run the all-faults precinct on 127.0.20.x for the whole session; yield its spec."""
    sim = start_sim([str(ALL_FAULTS)], tmp_path_factory.mktemp("sim_precinct"))
    try:
        yield load_spec(ALL_FAULTS)
    finally:
        stop_sim(sim)


StartSimNetns = Callable[..., SimNetns]


def _require_netns() -> None:
    reason = netns.netns_unavailable_reason()
    if reason is not None:
        pytest.skip(f"network namespaces unavailable: {reason}")
    netns.remove_stale()


def _start_in_netns(workdir: Path, path: Path = ALL_FAULTS, **options: Any) -> SimNetns:
    """Start a precinct in a fresh namespace pair (see sim.launch.start_in_netns)."""
    sim = launch.start_in_netns(workdir, path, **options)
    _live_processes.append(sim.process)
    _live_pairs.append(sim.pair)
    return sim


def _stop_in_netns(sim: SimNetns) -> None:
    """Stop a precinct started by _start_in_netns and assert that it exited cleanly."""
    try:
        code = launch.stop_in_netns(sim)
    finally:
        if sim.process in _live_processes:
            _live_processes.remove(sim.process)
        if sim.pair in _live_pairs:
            _live_pairs.remove(sim.pair)
    assert code == 0, f"simulator exited with {code}:\n{sim.process.log_tail()}"


@pytest.fixture(scope="session")
def sim_netns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimNetns]:
    """Run the all-faults precinct inside a namespace pair for the session (multicast on)."""
    _require_netns()
    sim = _start_in_netns(tmp_path_factory.mktemp("sim_netns"))
    try:
        yield sim
    finally:
        _stop_in_netns(sim)


@pytest.fixture
def sim_netns_factory(tmp_path: Path) -> Iterator[StartSimNetns]:
    """Return a function that starts a precinct in a fresh namespace pair, stopped at teardown.

    Call it as ``sim_netns_factory(path=ALL_FAULTS, behaviours=("SITE/NAME=KIND",),
    rtsp=True, wsd_max_delay_s=0.05)``.
    """
    _require_netns()
    started: list[SimNetns] = []

    def start(path: Path = ALL_FAULTS, **options: Any) -> SimNetns:
        workdir = tmp_path / f"sim{len(started)}"
        workdir.mkdir()
        sim = _start_in_netns(workdir, path, **options)
        started.append(sim)
        return sim

    try:
        yield start
    finally:
        for sim in started:
            _stop_in_netns(sim)
