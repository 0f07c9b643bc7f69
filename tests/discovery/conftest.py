"""Fixtures of the discovery tests: a loopback-only namespace running the failure-mode cameras."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.discovery.helpers import PRECINCTS, PROJECT_ROOT

HOSTILE = PRECINCTS / "hostile.toml"
SPEC = HOSTILE


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture(scope="package")
def loopback_ns() -> Iterator[str]:
    """Create a namespace with only loopback, up; delete it (and what runs in it) afterwards."""
    name = f"cfdisc-{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", name)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot create a network namespace: {exc}")
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        pids = subprocess.run(
            ["ip", "netns", "pids", name], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            subprocess.run(["kill", "-9", pid], check=False)
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture(scope="package")
def hostile_sim(loopback_ns: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run the failure-mode cameras (ONVIF and WS-Discovery only) inside the namespace."""
    work = tmp_path_factory.mktemp("hostile_sim")
    ready = work / "ready.json"
    log = (work / "sim.log").open("wb")
    argv = ["ip", "netns", "exec", loopback_ns, sys.executable, "-m", "sim", "up", str(SPEC)]
    argv += ["--no-rtsp", "--no-secrets", "--ready-file", str(ready)]
    proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None, (work / "sim.log").read_text()
            assert time.monotonic() < deadline, "simulator not ready"
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
