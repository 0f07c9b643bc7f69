"""Multicast, unicast and subnet discovery of a simulated precinct inside a namespace pair."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim import netns
from sim.spec import load_spec
from tests.conftest import SimNetns, start_sim, stop_sim
from tests.discovery.helpers import PASSWORD, PRECINCTS, PROJECT_ROOT, Cli, by_host

pytestmark = [pytest.mark.netns, pytest.mark.slow]

PRECINCT = PRECINCTS / "precinct.toml"
QUIET = PRECINCTS / "quiet.toml"
SITE, OTHER_SITE = "TST-01-0002", "TST-01-0003"


class QuietCamera:
    """A camera without multicast discovery, started inside the cameras' namespace."""

    def __init__(self, sim: SimNetns, host: str, work: Path) -> None:
        subprocess.run(
            ["ip", "-n", sim.cams, "addr", "add", f"{host}/24", "dev", sim.pair.cams_link],
            check=True,
            capture_output=True,
        )
        self.host = host
        ready = work / f"quiet-{host}.json"
        self._log = (work / f"quiet-{host}.log").open("wb")
        # Without --netns the simulator answers WS-Discovery by unicast only.
        argv = ["ip", "netns", "exec", sim.cams, sys.executable, "-m", "sim", "up", str(QUIET)]
        argv += ["--no-rtsp", "--no-secrets", "--host-base", host, "--ready-file", str(ready)]
        self.proc = subprocess.Popen(
            argv, cwd=PROJECT_ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert self.proc.poll() is None, "quiet camera exited"
            assert time.monotonic() < deadline, "quiet camera not ready"
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the camera process."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


@pytest.fixture(scope="module")
def precinct(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SimNetns, QuietCamera]]:
    """Run the four-camera precinct (multicast) and one quiet camera in a namespace pair."""
    reason = netns.netns_unavailable_reason()
    if reason is not None:
        pytest.skip(f"network namespaces unavailable: {reason}")
    work = tmp_path_factory.mktemp("netns_discovery")
    pair = netns.create_pair(netns.unique_prefix("cfdisc"), n_hosts=4)
    quiet = None
    try:
        args = [str(PRECINCT), "--netns", pair.cams, "--host-base", pair.camera_hosts[0]]
        process = start_sim([*args, "--wsd-max-delay", "0.05", "--no-rtsp"], work)
        spec = load_spec(PRECINCT, host_base=pair.camera_hosts[0])
        sim = SimNetns(pair.cams, pair.nvr, pair.nvr_host, spec, pair, process)
        try:
            quiet = QuietCamera(sim, "10.231.0.40", work)
            yield sim, quiet
        finally:
            if quiet is not None:
                quiet.stop()
            stop_sim(process)
    finally:
        pair.destroy()


@pytest.fixture(scope="module")
def seeded(precinct: tuple[SimNetns, QuietCamera], tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """Return a CLI whose database holds the two precincts and the cameras' login."""
    sim, _ = precinct
    cli = Cli(tmp_path_factory.mktemp("seeded"), netns=sim.nvr)
    network = str(sim.pair.network)
    cli.setup([(SITE, 5, network), (OTHER_SITE, 4, network)])
    return cli


def _hosts(sim: SimNetns) -> list[str]:
    return sorted(c.host for c in sim.spec.cameras)


def _names(report: dict[str, Any]) -> list[str]:
    return sorted(d["outcome"] for d in report["devices"])


def test_multicast_finds_every_camera_once_over_several_runs(
    precinct: tuple[SimNetns, QuietCamera], seeded: Cli, tmp_path: Path
) -> None:
    sim, _ = precinct
    cli = seeded.copy(tmp_path / "cli")
    args = ("--site", SITE, "--interface", sim.pair.nvr_link, "--timeout", "1.5")
    code, first = cli.discover(*args)
    # The quiet camera ignores multicast: four of five found, so the precinct is short.
    assert sorted(by_host(first)) == _hosts(sim)
    assert _names(first) == ["registered"] * 4
    assert code == 3
    # The last run also asks each camera directly: found twice, listed once.
    listed_hosts = [x for h in _hosts(sim) for x in ("--hosts", f"{h}:8080")]
    for extra in ((), listed_hosts):
        _, again = cli.discover(*args, *extra)
        assert sorted(by_host(again)) == _hosts(sim)
        assert _names(again) == ["unchanged"] * 4
    listed = cli.run("cameras", "list", "--site", SITE, "--json")
    cameras = json.loads(listed.stdout)["cameras"]
    assert len(cameras) == 4
    entrance = next(c for c in cameras if c["name"] == "entrance")
    spec = sim.spec.camera("DISC-P", "entrance")
    assert entrance["endpoint_uuid"] == spec.endpoint_uuid
    assert (entrance["manufacturer"], entrance["serial"]) == (spec.manufacturer, spec.serial)
    assert entrance["mac"] == spec.mac
    assert entrance["main_stream_uri"] == spec.stream_url("main")
    assert entrance["check_stream_uri"] == spec.stream_url("sub")
    assert [(p["token"], p["width"], p["height"]) for p in entrance["profiles"]] == [
        ("main", 1280, 720),
        ("sub", 640, 360),
    ]
    assert entrance["username"] == "admin"
    skewed = next(c for c in cameras if c["name"] == "exit")
    assert skewed["clock_skew_s"] == pytest.approx(-1800, abs=2)
    cli.assert_no_secret(PASSWORD)


def test_unicast_hosts_and_subnet_sweep_find_them_too(
    precinct: tuple[SimNetns, QuietCamera], seeded: Cli, tmp_path: Path
) -> None:
    sim, quiet = precinct
    cli = seeded.copy(tmp_path / "cli")
    hosts = [*_hosts(sim), quiet.host]
    code, unicast = cli.discover(
        "--site", SITE, "--timeout", "1", *(x for h in hosts for x in ("--hosts", f"{h}:8080"))
    )
    assert sorted(by_host(unicast)) == sorted(hosts)
    assert _names(unicast) == ["registered"] * 5
    assert code == 0
    code, swept = cli.discover("--site", SITE, "--subnet", str(sim.pair.network), "--timeout", "1")
    assert sorted(by_host(swept)) == sorted(hosts)
    assert _names(swept) == ["unchanged"] * 5
    assert {d["via"] for d in swept["devices"]} == {"sweep"}
    assert code == 0
    cli.assert_no_secret(PASSWORD)


def test_moved_and_misplaced_cameras(
    precinct: tuple[SimNetns, QuietCamera], seeded: Cli, tmp_path: Path
) -> None:
    sim, quiet = precinct
    cli = seeded.copy(tmp_path / "cli")
    code, first = cli.discover("--site", SITE, "--hosts", f"{quiet.host}:8080", "--timeout", "1")
    assert _names(first) == ["registered"]
    # The same camera, given a new address by DHCP, is updated in place.
    moved = QuietCamera(sim, "10.231.0.41", tmp_path)
    try:
        _, again = cli.discover("--site", SITE, "--hosts", f"{moved.host}:8080", "--timeout", "1")
    finally:
        moved.stop()
    device = by_host(again)[moved.host]
    assert device["outcome"] == "updated"
    assert "address changed" in device["reason"]
    assert device["camera_id"] == first["devices"][0]["camera_id"]
    # Found from the wrong precinct: reported as a conflict and left where it is.
    hosts = [x for h in _hosts(sim) for x in ("--hosts", f"{h}:8080")]
    cli.discover("--site", SITE, "--timeout", "1", *hosts)
    code, wrong = cli.discover("--site", OTHER_SITE, "--timeout", "1", *hosts)
    assert _names(wrong) == ["conflict"] * 4
    assert {d["registered_site"] for d in wrong["devices"]} == {SITE}
    assert code == 3
    code, taken = cli.discover("--site", OTHER_SITE, "--timeout", "1", "--move", *hosts)
    assert _names(taken) == ["updated"] * 4
    assert all(d["reason"].startswith(f"moved from {SITE}") for d in taken["devices"])
    assert code == 0
    listed = json.loads(cli.run("cameras", "list", "--json").stdout)["cameras"]
    assert sorted((c["site"], c["name"]) for c in listed) == sorted(
        [(SITE, "annex")] + [(OTHER_SITE, c.name) for c in sim.spec.cameras]
    )
    cli.assert_no_secret(PASSWORD)
