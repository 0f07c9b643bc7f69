"""Namespace pairs: addresses, multicast routes, isolation from the host, idempotent cleanup."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim import netns

pytestmark = pytest.mark.netns


@pytest.fixture(autouse=True)
def _needs_netns() -> None:
    reason = netns.netns_unavailable_reason()
    if reason is not None:
        pytest.skip(f"network namespaces unavailable: {reason}")


def test_a_pair_has_addresses_routes_and_reachability() -> None:
    with netns.netns_pair(n_hosts=3) as pair:
        assert pair.camera_hosts == ("10.231.0.11", "10.231.0.12", "10.231.0.13")
        assert pair.nvr_host == "10.231.0.2"
        cams_addrs = netns.exec_in(pair.cams, ["ip", "-4", "-o", "addr", "show"]).stdout
        assert all(f"{h}/24" in cams_addrs for h in pair.camera_hosts)
        for ns in (pair.cams, pair.nvr):
            assert "239.0.0.0/8" in netns.exec_in(ns, ["ip", "route"]).stdout
        # A TCP connection across the veth link: the NVR side reaches a camera address.
        server = (
            "import socket; s = socket.create_server(('10.231.0.12', 9)); "
            "c, _ = s.accept(); c.sendall(b'hi')"
        )
        client = (
            "import socket, time\n"
            "for _ in range(50):\n"
            "    try:\n"
            "        c = socket.create_connection(('10.231.0.12', 9), 2)\n"
            "        print(c.recv(2).decode()); break\n"
            "    except ConnectionRefusedError: time.sleep(0.05)\n"
        )
        listener = subprocess.Popen(netns.exec_argv(pair.cams, [sys.executable, "-c", server]))
        try:
            assert netns.exec_in(pair.nvr, [sys.executable, "-c", client]).stdout == "hi\n"
        finally:
            listener.wait(10)
        assert netns.netns_exists(pair.cams)
        assert not netns.inside_netns(pair.cams)
    assert not netns.netns_exists(pair.cams)
    assert not netns.netns_exists(pair.nvr)
    pair.destroy()  # a second cleanup is harmless


def test_unique_prefixes_and_stale_pairs() -> None:
    assert netns.unique_prefix() != netns.unique_prefix()
    # pid 2**22 + 1 exceeds Linux's pid_max ceiling, so no live process owns it.
    stale = netns.create_pair(f"cfsim{2**22 + 1}x1", n_hosts=1)
    assert stale.cams in netns.remove_stale()
    assert not netns.netns_exists(stale.nvr)
