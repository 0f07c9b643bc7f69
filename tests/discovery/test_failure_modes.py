"""Every way a device can fail gives its own result in bounded time; nothing half-registered.

The simulator and camfleet both run inside a namespace that has only a loopback interface,
so even a bug could not send a packet to the foreign address a hostile device advertises.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sim.spec import load_spec
from tests.discovery.conftest import HOSTILE as SPEC
from tests.discovery.helpers import OTHER_PASSWORD, PASSWORD, Cli, by_host

pytestmark = [pytest.mark.netns, pytest.mark.slow]

SILENT_HOST = "127.0.25.200"  # nothing listens there


@pytest.fixture(scope="module")
def run(
    loopback_ns: str, hostile_sim: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Cli, int, dict[str, Any], float]:
    """Discover every failure-mode camera (and a silent address) once."""
    cli = Cli(tmp_path_factory.mktemp("hostile_cli"), netns=loopback_ns)
    cli.setup([("TST-01-0001", 3, "127.0.25.0/24")])
    hosts = [f"{c.host}:{c.onvif_port}" for c in load_spec(SPEC).cameras] + [f"{SILENT_HOST}:8080"]
    started = time.monotonic()
    code, report = cli.discover(
        "--site", "TST-01-0001", "--timeout", "1", *(x for h in hosts for x in ("--hosts", h))
    )
    return cli, code, report, time.monotonic() - started


def _device(report: dict[str, Any], name: str) -> dict[str, Any]:
    camera = load_spec(SPEC).camera("DISC-H", name)
    return by_host(report)[camera.host]


EXPECTED = {
    "good": ("registered", "registered"),
    "skewed": ("registered", "registered"),
    "wrongpass": ("auth_failed", "credentials_refused"),
    "malformed": ("not_onvif", "malformed_xml"),
    "bomb": ("not_onvif", "xml_forbidden"),
    "xxe": ("not_onvif", "xml_forbidden"),
    "deep": ("not_onvif", "malformed_xml"),
    "huge": ("not_onvif", "reply_too_large"),
    "foreign": ("refused_address", "foreign_stream_uri"),
    "xaddrs": ("refused_address", "foreign_service_address"),
    "redirect": ("refused_address", "redirect_refused"),
    "notonvif": ("not_onvif", "not_soap"),
    "silent": ("unreachable", "timeout"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_device_gets_its_own_result(
    run: tuple[Cli, int, dict[str, Any], float], name: str
) -> None:
    _, _, report, _ = run
    device = _device(report, name)
    assert (device["outcome"], device["reason_code"]) == EXPECTED[name], device
    # Failed devices still carry the name they announced, so installers know which one it is.
    assert device["name"] == name


def test_the_run_is_bounded_and_reports_the_shortfall(
    run: tuple[Cli, int, dict[str, Any], float],
) -> None:
    _, code, report, elapsed = run
    # Collection 1 s, the silent device 2 s per call, start-up of two processes: well under 30.
    assert elapsed < 30
    assert report["expected"] == 3
    assert report["found"] == 2
    assert report["short"] is True
    assert code == 3
    nothing = by_host(report)[SILENT_HOST]
    assert nothing["outcome"] == "unreachable"


def test_clock_skew_is_compensated_and_reported(
    run: tuple[Cli, int, dict[str, Any], float],
) -> None:
    _, _, report, _ = run
    skewed = _device(report, "skewed")
    assert skewed["clock_skew_s"] == pytest.approx(3600, abs=2)
    assert _device(report, "good")["clock_skew_s"] == pytest.approx(0, abs=2)


def test_only_usable_devices_are_stored(run: tuple[Cli, int, dict[str, Any], float]) -> None:
    cli, _, _, _ = run
    engine = create_engine(f"sqlite:///{cli.tmp / 'camfleet.db'}")
    with engine.connect() as conn:
        hosts = sorted(r[0] for r in conn.execute(text("SELECT host FROM cameras")))
        uris = [r[0] for r in conn.execute(text("SELECT stream_uri FROM media_profiles"))]
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM media_profiles"
                " WHERE camera_id NOT IN (SELECT id FROM cameras)"
            )
        ).scalar()
        first_run = conn.execute(
            text("SELECT status, results FROM discovery_runs ORDER BY id")
        ).first()
    engine.dispose()
    spec = load_spec(SPEC)
    assert hosts == sorted(spec.camera("DISC-H", n).host for n in ("good", "skewed"))
    assert len(uris) == 4
    assert all(u.startswith("rtsp://127.0.25.") for u in uris)
    assert orphans == 0
    assert first_run is not None
    assert first_run[0] == "short"
    assert len(json.loads(first_run[1])) == len(EXPECTED) + 1
    listed = cli.run("cameras", "list", "--site", "TST-01-0001", "--json")
    assert len(json.loads(listed.stdout)["cameras"]) == 2


def test_no_password_in_any_output(run: tuple[Cli, int, dict[str, Any], float]) -> None:
    cli, _, _, _ = run
    cli.run("credentials", "list")
    cli.assert_no_secret(PASSWORD, OTHER_PASSWORD)


def test_a_second_run_changes_nothing(run: tuple[Cli, int, dict[str, Any], float]) -> None:
    cli, _, _, _ = run
    spec = load_spec(SPEC)
    hosts = [f"{spec.camera('DISC-H', n).host}:8080" for n in ("good", "skewed")]
    code, report = cli.discover(
        "--site", "TST-01-0001", "--timeout", "0.5", *(x for h in hosts for x in ("--hosts", h))
    )
    assert [d["outcome"] for d in report["devices"]] == ["unchanged", "unchanged"]
    assert code == 3  # still short: 2 of 3
    cli.assert_no_secret(PASSWORD, OTHER_PASSWORD)


def test_a_dry_run_stores_nothing(loopback_ns: str, hostile_sim: None, tmp_path: Path) -> None:
    cli = Cli(tmp_path, netns=loopback_ns)
    cli.setup([("TST-01-0001", 3, "127.0.25.0/24")])
    good = load_spec(SPEC).camera("DISC-H", "good")
    code, report = cli.discover(
        "--site", "TST-01-0001", "--dry-run", "--timeout", "1", "--hosts", good.host
    )
    assert report["dry_run"] is True
    assert [d["outcome"] for d in report["devices"]] == ["registered"]
    assert code == 3
    listed = cli.run("cameras", "list", "--json")
    assert json.loads(listed.stdout) == {"cameras": []}
    engine = create_engine(f"sqlite:///{tmp_path / 'camfleet.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM discovery_runs")).scalar() == 0
    engine.dispose()
