"""Remote mode: a laptop discovers on site and registers through the service's API with a token."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.spec import load_spec
from tests.discovery.conftest import HOSTILE
from tests.discovery.helpers import PASSWORD, Cli, camfleet_bin, register_csv

pytestmark = [pytest.mark.netns, pytest.mark.slow]

SITE = "TST-01-0001"
SERVER = "http://127.0.25.250:8765"


@pytest.fixture(scope="module")
def service(
    loopback_ns: str, hostile_sim: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Cli, str]]:
    """Run `camfleet serve` in the namespace with its own database; yield it and an admin token."""
    server = Cli(tmp_path_factory.mktemp("server"), netns=loopback_ns)
    register = server.tmp / "register.csv"
    register.write_text(register_csv([(SITE, 2, "127.0.25.0/24")]), encoding="utf-8")
    assert server.run("sites", "import", str(register)).returncode == 0
    created = server.run("token", "create", "--role", "admin", "--name", "laptop")
    token = created.stdout.strip().splitlines()[-1]
    log_path = server.tmp / "serve.log"
    log = log_path.open("wb")
    argv = ["ip", "netns", "exec", loopback_ns, camfleet_bin(), "serve"]
    argv += ["--host", "127.0.25.250", "--port", "8765"]
    proc = subprocess.Popen(
        argv, env=server.env, cwd=server.tmp, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while b"Application startup complete" not in log_path.read_bytes():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "service not up"
            time.sleep(0.1)
        yield server, token
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        server.outputs.append(log_path.read_text(errors="replace"))
        server.assert_no_secret(PASSWORD)


def _laptop(tmp: Path, netns: str, token: str) -> Cli:
    """Return a laptop CLI with a global login only (the precinct is not in its register)."""
    laptop = Cli(tmp, netns=netns, extra_env={"CAMFLEET_TOKEN": token})
    done = laptop.run("credentials", "add", "--username", "admin", stdin=PASSWORD)
    assert done.returncode == 0, done.stderr
    return laptop


def test_register_through_the_service(
    service: tuple[Cli, str], loopback_ns: str, tmp_path: Path
) -> None:
    server, token = service
    laptop = _laptop(tmp_path, loopback_ns, token)
    spec = load_spec(HOSTILE)
    hosts = [x for n in ("good", "skewed") for x in ("--hosts", spec.camera("DISC-H", n).host)]
    args = ("--site", SITE, "--server", SERVER, "--timeout", "1", *hosts)
    code, report = laptop.discover(*args)
    assert [d["outcome"] for d in report["devices"]] == ["registered", "registered"]
    assert code == 0
    _, again = laptop.discover(*args)
    assert [d["outcome"] for d in again["devices"]] == ["unchanged", "unchanged"]
    stored = json.loads(server.run("cameras", "list", "--json").stdout)["cameras"]
    assert sorted(c["host"] for c in stored) == sorted(h for h in hosts if h != "--hosts")
    assert all(c["main_stream_uri"].startswith("rtsp://127.0.25.") for c in stored)
    # Nothing was stored on the laptop itself.
    assert json.loads(laptop.run("cameras", "list", "--json").stdout) == {"cameras": []}
    laptop.assert_no_secret(PASSWORD)


def test_a_bad_token_is_refused_cleanly(
    service: tuple[Cli, str], loopback_ns: str, tmp_path: Path
) -> None:
    laptop = _laptop(tmp_path, loopback_ns, "not-a-token")
    host = load_spec(HOSTILE).camera("DISC-H", "good").host
    done = laptop.run("discover", "--site", SITE, "--server", SERVER, "--hosts", host)
    assert done.returncode == 1
    assert "refused the token" in done.stderr
    laptop.assert_no_secret(PASSWORD)
