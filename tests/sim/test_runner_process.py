"""``python -m sim``: listing, serving every service, clean stops, and the shared fixtures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from zeep.exceptions import Fault

from sim.launch import PROJECT_ROOT, SimNetns, SimProcess, start_sim
from sim.runner import Simulator, precinct_file
from sim.spec import PrecinctSpec, parse_spec
from tests.sim.onvif_helpers import client

ALL_FAULTS = precinct_file("all_faults")
PRECINCT = """
[defaults]
host_base = "127.0.22.100"
password = "runner-secret-pw"

[[sites]]
code = "TST-04-0004"

[[sites.cameras]]
name = "zal-1"

[[sites.cameras]]
name = "kirish"
feed = "refused"

[[sites.cameras]]
name = "rtsp-only"
onvif = false

[[sites.cameras]]
name = "router"
"""
CLOCK_REQUEST = (
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    b'<s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>'
    b"</s:Envelope>"
)


def _sim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except ConnectionRefusedError:
        return False


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def test_list_prints_every_camera_and_secrets_only_when_asked() -> None:
    plain = _sim("list", str(ALL_FAULTS))
    hidden = _sim("list", str(ALL_FAULTS), "--no-secrets")
    listed = _sim("list", str(ALL_FAULTS), "--json", "--host-base", "127.0.22.130")
    assert plain.returncode == hidden.returncode == listed.returncode == 0
    assert "password camsim-pass" in plain.stdout
    assert "camsim-pass" not in hidden.stdout
    entries = json.loads(listed.stdout)
    assert len(entries) == 27
    assert entries[0]["host"] == "127.0.22.130"
    assert entries[0]["xaddr"] == "http://127.0.22.130:8080/onvif/device_service"
    hostile = {e["name"]: e["behaviour"] for e in entries if e["site"] == "SIM-HOSTILE"}
    assert hostile == {name: name for name in hostile}
    assert len(hostile) == 11
    feeds = {e["feed"] for e in entries if e["site"] == "SIM-FAULTS"}
    assert {"stall", "hang", "unauthorized", "not_found", "refused", "black"} <= feeds


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up", "missing.toml"], "missing.toml"),
        (["up", str(ALL_FAULTS), "--behaviour", "SIM-OK/live=teapot"], "unknown behaviour"),
        (["up", str(ALL_FAULTS), "--behaviour", "nonsense"], "SITE/NAME=BEHAVIOUR"),
        (["up", str(ALL_FAULTS), "--behaviour", "SIM-OK/nobody=silent"], "unknown cameras"),
        (["up", str(ALL_FAULTS), "--netns", "cf-no-such-namespace"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    result = _sim(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_taken_port_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(PRECINCT.replace("127.0.22.100", "127.0.22.120"), encoding="utf-8")
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.22.120", 8080))
        taken.listen()
        result = _sim("up", str(path), "--no-rtsp")
    assert result.returncode == 1
    assert "cannot start" in result.stderr


def test_up_serves_rtsp_onvif_and_discovery_then_stops_on_sigterm(tmp_path: Path) -> None:
    path = tmp_path / "precinct.toml"
    path.write_text(PRECINCT, encoding="utf-8")
    sim = start_sim([str(path), "--behaviour", "TST-04-0004/router=not_onvif"], tmp_path)
    try:
        ready = sim.ready
        assert ready["pid"] == sim.pid
        assert ready["multicast"] is False
        by_name = {c["name"]: c for c in ready["cameras"]}
        assert by_name["router"]["behaviour"] == "not_onvif"
        assert "runner-secret-pw" not in json.dumps(ready)
        assert "runner-secret-pw" not in sim.log.read_text()

        clock = httpx.post(by_name["zal-1"]["xaddr"], content=CLOCK_REQUEST, timeout=5)
        assert clock.status_code == 200
        assert b"UTCDateTime" in clock.content
        assert _connects("127.0.22.100", 8554)  # zal-1: RTSP and ONVIF
        assert not _connects("127.0.22.101", 8554)  # kirish: feed "refused"
        assert _connects("127.0.22.101", 8080)  # ... but its ONVIF answers
        assert _connects("127.0.22.102", 8554)  # rtsp-only: video
        assert not _connects("127.0.22.102", 8080)  # ... and no ONVIF service
        page = httpx.post(by_name["router"]["xaddr"], content=CLOCK_REQUEST, timeout=5)
        assert page.headers["content-type"].startswith("text/html")
        children = _children(sim.pid)
    finally:
        code = sim.stop()
    assert code == 0, sim.log_tail()
    assert not (tmp_path / "sim-ready.json").exists()
    assert not _connects("127.0.22.100", 8080)
    assert not _connects("127.0.22.100", 8554)
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)


def test_sigint_stops_cleanly_too(tmp_path: Path) -> None:
    path = tmp_path / "precinct.toml"
    path.write_text(PRECINCT.replace("127.0.22.100", "127.0.22.110"), encoding="utf-8")
    sim: SimProcess = start_sim([str(path), "--no-rtsp"], tmp_path)
    os.kill(sim.pid, signal.SIGINT)
    assert sim.proc.wait(15) == 0, sim.log_tail()


@pytest.mark.asyncio
async def test_sim_precinct_fixture_serves_the_all_faults_precinct(
    sim_precinct: PrecinctSpec,
) -> None:
    live = sim_precinct.camera("SIM-OK", "live")
    skewed = sim_precinct.camera("SIM-FAULTS", "skewed")
    assert live.host == "127.0.20.1"
    async with client(live) as onvif:
        await onvif.update_xaddrs()
        media = await onvif.create_media_service()
        assert [p.token for p in await media.GetProfiles()] == ["main", "sub"]
    async with client(skewed) as onvif:
        devicemgmt = await onvif.create_devicemgmt_service()
        with pytest.raises(Fault):
            await devicemgmt.GetDeviceInformation()
    assert _connects(sim_precinct.camera("SIM-FAULTS", "hang").host, 8554)
    assert not _connects(sim_precinct.camera("SIM-FAULTS", "refused").host, 8554)


ONVIF_FROM_NVR = """
import asyncio, sys
from onvif import ONVIFCamera
async def main():
    password = sys.stdin.read()
    cam = ONVIFCamera(sys.argv[1], 8080, sys.argv[2], password, no_cache=True)
    try:
        await cam.update_xaddrs()
        media = await cam.create_media_service()
        reply = await media.GetStreamUri({"StreamSetup": {"Stream": "RTP-Unicast",
            "Transport": {"Protocol": "RTSP"}}, "ProfileToken": "main"})
        print(reply.Uri)
    finally:
        await cam.close()
asyncio.run(main())
"""


@pytest.mark.netns
def test_sim_netns_fixture_is_reachable_from_the_nvr_side(sim_netns: SimNetns) -> None:
    cam = sim_netns.spec.camera("SIM-OK", "live")
    assert cam.host == "10.231.0.11"
    assert sim_netns.process.ready["multicast"] is True
    result = sim_netns.exec_in_nvr(
        [sys.executable, "-c", ONVIF_FROM_NVR, cam.host, cam.username], stdin=cam.password
    )
    assert result.stdout.strip() == cam.stream_url("main"), result.stderr[-2000:]


@pytest.mark.asyncio
async def test_simulator_in_process_honours_the_auth_window() -> None:
    spec = parse_spec(
        {
            "defaults": {"host_base": "127.0.22.140"},
            "sites": [{"code": "TST-05-0005", "cameras": [{"name": "a", "clock_skew_s": 120}]}],
        }
    )
    cam = spec.cameras[0]
    strict = Simulator(spec, rtsp=False, auth_window_s=60)
    await strict.start()
    try:
        async with client(cam) as onvif:
            devicemgmt = await onvif.create_devicemgmt_service()
            with pytest.raises(Fault):
                await devicemgmt.GetDeviceInformation()
    finally:
        await strict.stop()
    lenient = Simulator(spec, rtsp=False)
    await lenient.start()
    try:
        async with client(cam) as onvif:
            devicemgmt = await onvif.create_devicemgmt_service()
            assert (await devicemgmt.GetDeviceInformation()).SerialNumber == cam.serial
    finally:
        await lenient.stop()
