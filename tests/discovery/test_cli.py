"""The CLI on loopback: manual cameras, listing without secrets, the table and the exit code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.discovery.helpers import PASSWORD, Cli

SITE = "TST-01-0009"
MANUAL_PASSWORD = "Pw-manual-4d21"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """Return a CLI whose database holds one precinct and the cameras' login."""
    cli = Cli(tmp_path_factory.mktemp("cli_seeded"))
    cli.setup([(SITE, 2, "10.9.9.0/24")])
    return cli


def test_manual_cameras_and_listing(seeded: Cli, tmp_path: Path) -> None:
    cli = seeded.copy(tmp_path / "cli")
    done = cli.run(
        "cameras",
        "add",
        "--site",
        SITE,
        "--name",
        "Hovli",
        "--stream-uri",
        "rtsp://10.9.9.20:554/ch1",
        "--sub-stream-uri",
        "rtsp://10.9.9.20:554/ch2",
        "--username",
        "guard",
        stdin=MANUAL_PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    cameras = json.loads(cli.run("cameras", "list", "--site", SITE, "--json").stdout)["cameras"]
    (camera,) = cameras
    assert camera["source"] == "manual"
    assert camera["main_stream_uri"] == "rtsp://10.9.9.20:554/ch1"
    assert camera["check_stream_uri"] == "rtsp://10.9.9.20:554/ch2"
    assert camera["username"] == "guard"
    table = cli.run("cameras", "list")
    assert "Hovli" in table.stdout
    refused = cli.run(
        "cameras", "add", "--site", "TST", "--name", "x", "--stream-uri", "rtsp://10.9.9.21/a"
    )
    assert refused.returncode == 1
    assert "precinct" in refused.stderr
    pasted = cli.run(
        "cameras",
        "add",
        "--site",
        SITE,
        "--name",
        "y",
        "--stream-uri",
        "rtsp://guard:Pasted-Secret-9@10.9.9.22/a",
    )
    assert pasted.returncode == 1
    assert "must not carry a password" in pasted.stderr
    assert "Pasted-Secret-9" not in pasted.stdout + pasted.stderr
    cli.run("credentials", "list")
    cli.assert_no_secret(MANUAL_PASSWORD, PASSWORD)


def test_discover_prints_a_table_and_fails_when_short(seeded: Cli, tmp_path: Path) -> None:
    cli = seeded.copy(tmp_path / "cli")
    done = cli.run("discover", "--site", SITE, "--hosts", "127.0.24.250:9", "--timeout", "0.5")
    assert done.returncode == 3
    assert "unreachable" in done.stdout
    assert f"{SITE}: expected 2, found 0" in done.stdout
    bad = cli.run("discover", "--site", SITE, "--subnet", "10.0.0.0/8")
    assert bad.returncode == 1
    assert "larger than /22" in bad.stderr
    unknown = cli.run("discover", "--site", "NOPE", "--hosts", "127.0.24.250")
    assert unknown.returncode == 1
    cli.assert_no_secret(PASSWORD)


def test_device_text_is_never_console_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from camfleet.cli import discover_commands
    from discovery.model import DeviceReport, DiscoveryReport, Outcome, SiteTarget, Via

    recorder = Console(record=True, width=300, color_system="truecolor")
    monkeypatch.setattr(discover_commands, "console", recorder)
    report = DiscoveryReport(SiteTarget(SITE, None, 1), started_at=datetime.now(UTC))
    hostile = "[link=http://203.0.113.7/]click[/link] [bold]x"
    report.devices = [
        DeviceReport(
            "10.9.9.5", None, Via.UNICAST, Outcome.NOT_ONVIF, "soap_fault", hostile, name=hostile
        )
    ]
    discover_commands._print_table(report, ())
    shown = recorder.export_text(clear=False)
    assert shown.count("[link=http://203.0.113.7/]click[/link]") == 2
    assert 'href="http://203.0.113.7/"' not in recorder.export_html()
