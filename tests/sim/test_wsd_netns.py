"""Multicast WS-Discovery between two network namespaces: Hello, Probe/ProbeMatches, Bye."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim import launch, netns
from sim.spec import load_spec

pytestmark = pytest.mark.netns

PEER = str(Path(__file__).with_name("wsd_peer.py"))
PRECINCT = """
[defaults]
host_base = "127.0.22.200"

[[sites]]
code = "TST-03-0003"

[[sites.cameras]]
name = "zal-1"

[[sites.cameras]]
name = "zal-2"
behaviour = "silent"

[[sites.cameras]]
name = "rtsp-only"
onvif = false
"""
WSDISCOVERY_SEARCH = """
from wsdiscovery import QName
from wsdiscovery.discovery import ThreadedWSDiscovery
wsd = ThreadedWSDiscovery()
wsd.start()
try:
    found = wsd.searchServices(
        types=[QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter", "dn")],
        timeout=1,
    )
    print("\\n".join(sorted(x for s in found for x in s.getXAddrs())))
finally:
    wsd.stop()
"""


@pytest.fixture
def pair() -> Iterator[netns.NetnsPair]:
    reason = netns.netns_unavailable_reason()
    if reason is not None:
        pytest.skip(f"network namespaces unavailable: {reason}")
    with netns.netns_pair(n_hosts=3) as created:
        yield created


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_multicast_discovery_finds_every_onvif_camera(
    pair: netns.NetnsPair, tmp_path: Path
) -> None:
    path = tmp_path / "precinct.toml"
    path.write_text(PRECINCT, encoding="utf-8")
    spec = load_spec(path, host_base=pair.camera_hosts[0])
    onvif_cams = [c for c in spec.cameras if c.onvif]
    listener = subprocess.Popen(
        netns.exec_argv(pair.nvr, [sys.executable, PEER, "listen", pair.nvr_host]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    sim: launch.SimProcess | None = None
    try:
        assert listener.stdout is not None
        assert json.loads(listener.stdout.readline()) == {"ready": True}
        args = [str(path), "--netns", pair.cams, "--host-base", pair.camera_hosts[0]]
        sim = launch.start_sim([*args, "--no-rtsp", "--wsd-max-delay", "0.05"], tmp_path)
        assert sim.ready["multicast"] is True
        assert sim.ready["netns"] == pair.cams

        probed = netns.exec_in(pair.nvr, [sys.executable, PEER, "probe", pair.nvr_host, "1.0"])
        header, *matches = _lines(probed.stdout)
        assert {m["xaddrs"] for m in matches} == {c.xaddr for c in onvif_cams}
        assert {m["source"] for m in matches} == {c.host for c in onvif_cams}
        for match in matches:
            assert match["action"] == "ProbeMatches"
            assert match["relates_to"] == header["message_id"]
            assert match["types"] == "dn:NetworkVideoTransmitter tds:Device"

        search = netns.exec_in(pair.nvr, [sys.executable, "-c", WSDISCOVERY_SEARCH])
        assert search.stdout.split() == sorted(c.xaddr for c in onvif_cams)

        assert sim.stop() == 0
        sim = None
        out, _ = listener.communicate("", timeout=10)
    finally:
        if sim is not None:
            sim.kill()
        if listener.poll() is None:
            listener.kill()
            listener.wait(5)
    announcements = _lines(out)
    expected = {c.endpoint_uuid for c in onvif_cams}
    hellos = [a for a in announcements if a["action"] == "Hello"]
    byes = [a for a in announcements if a["action"] == "Bye"]
    assert {a["address"] for a in hellos} == expected
    assert {a["xaddrs"] for a in hellos} == {c.xaddr for c in onvif_cams}
    assert {a["address"] for a in byes} == expected
    # The group also carries the probes themselves; answers go unicast, never to the group.
    assert {a["action"] for a in announcements} <= {"Hello", "Bye", "Probe"}
