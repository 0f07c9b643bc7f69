"""The health commands run as a user runs them: real processes against the simulated precinct."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from camfleet.db import transaction
from camfleet.models import Camera, Site, Sweep
from sim.spec import PrecinctSpec
from tests.health import sweep_support
from tests.health.sweep_support import PASSWORD, SECRET_KEY, Env, make_env

pytestmark = pytest.mark.timeout(180)
precinct = sweep_support.precinct
ROOT = Path(__file__).resolve().parents[2]
CAMFLEET = [sys.executable, "-c", "from camfleet.cli import main; main()"]


@pytest.fixture
def env(tmp_path: Path, precinct: PrecinctSpec) -> Env:
    return make_env(tmp_path, f"sqlite:///{tmp_path / 'cli.db'}", precinct)


@pytest.fixture
def run(tmp_path: Path, env: Env) -> object:
    """Return a function running `camfleet ARGS` on the test database; outputs are kept."""
    variables = {k: v for k, v in os.environ.items() if not k.startswith("CAMFLEET_")}
    variables.update(
        {
            "CAMFLEET_DATABASE_URL": env.settings.database_url,
            "CAMFLEET_DATA_DIR": str(tmp_path),
            "CAMFLEET_SECRET_KEY": SECRET_KEY,
            "CAMFLEET_SAMPLE_WINDOW_S": "1.0",
            "CAMFLEET_CHECK_DEADLINE_S": "6",
            "CAMFLEET_OPEN_TIMEOUT_S": "2",
            "CAMFLEET_READ_TIMEOUT_S": "1",
            "CAMFLEET_CONFIRM_DELAY_S": "0.2",
            "CAMFLEET_CONCURRENCY": "8",
            "COLUMNS": "200",
            "PYTHONPATH": str(ROOT),
        }
    )
    outputs: list[str] = []

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*CAMFLEET, *args],
            env=variables,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outputs.append(result.stdout + result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    invoke.outputs = outputs  # type: ignore[attr-defined]
    return invoke


def test_check_prints_status_and_json(run: object) -> None:
    ok = run("check", "P1/live", "--json")  # type: ignore[operator]
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert (data["camera"], data["status"], data["severity"]) == ("P1/live", "ok", "ok")
    assert "thumbnail" not in data
    assert data["measurements"]["frames_analysed"] > 0
    bad = run("check", "P1/unauth")  # type: ignore[operator]
    assert bad.returncode == 2
    assert "auth_failed" in bad.stdout
    assert "rejected the credentials" in bad.stdout
    missing = run("check", "P1/nope")  # type: ignore[operator]
    assert missing.returncode == 1
    assert "no camera 'P1/nope'" in missing.stderr
    assert all(PASSWORD not in text for text in run.outputs)  # type: ignore[attr-defined]


def test_verify_gives_the_installer_a_verdict(run: object, env: Env) -> None:
    result = run("verify", "--site", "P1", "--json")  # type: ignore[operator]
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["verdict"] == "not_ready"
    assert not data["ready"]
    assert {c["camera"]: c["status"] for c in data["cameras"]} == {
        "P1/live": "ok",
        "P1/static": "ok",
        "P1/black": "black",
        "P1/unauth": "auth_failed",
    }
    assert {r["code"] for r in data["reasons"]} == {"black", "auth_failed"}
    text = run("verify", "--site", "P1")  # type: ignore[operator]
    assert "NOT READY" in text.stdout
    assert "black" in text.stdout
    # The installer replaces the two bad cameras' entries: the precinct is then ready.
    with transaction(env.sessions) as s:
        s.execute(
            update(Camera)
            .where(Camera.id.in_([env.reg.camera_ids["P1/black"], env.reg.camera_ids["P1/unauth"]]))
            .values(enabled=False)
        )
        s.execute(update(Site).where(Site.code == "P1").values(expected_cameras=2))
    ready = run("verify", "--site", "P1")  # type: ignore[operator]
    assert ready.returncode == 0, ready.stdout
    assert "READY" in ready.stdout
    wrong_level = run("verify", "--site", "TR-01")  # type: ignore[operator]
    assert wrong_level.returncode == 1
    assert "precinct" in wrong_level.stderr
    assert all(PASSWORD not in text for text in run.outputs)  # type: ignore[attr-defined]


def test_sweep_and_reference_commands(run: object, env: Env) -> None:
    result = run("sweep", "--site", "P2", "--concurrency", "4")  # type: ignore[operator]
    assert result.returncode == 0, result.stderr
    assert "completed: 4/4 cameras" in result.stdout
    with env.sessions() as s:
        (sweep,) = s.scalars(select(Sweep)).all()
        assert (sweep.trigger, sweep.status, sweep.done) == ("cli", "completed", 4)
    saved = run("reference", "set", "P2/live2", "--by", "Aziz")  # type: ignore[operator]
    assert saved.returncode == 0, saved.stderr
    assert "reference of P2/live2 saved: 640x360" in saved.stdout
    refused = run("reference", "set", "P2/frozen")  # type: ignore[operator]
    assert refused.returncode == 1
    assert "frozen" in refused.stderr
    cleared = run("reference", "clear", "P2/live2")  # type: ignore[operator]
    assert "removed" in cleared.stdout
    unknown = run("sweep", "--site", "NOPE")  # type: ignore[operator]
    assert unknown.returncode == 1
    assert "NOPE" in unknown.stderr
    assert all(PASSWORD not in text for text in run.outputs)  # type: ignore[attr-defined]
