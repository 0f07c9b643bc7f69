"""`camfleet demo`, the main job of `make run`, end to end on an empty data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sim.runner import precinct_file
from sim.spec import load_spec

CAMFLEET = [sys.executable, "-c", "from camfleet.cli import main; main()"]


def test_demo_registers_and_sweeps_the_simulated_precinct(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMFLEET_")}
    env["CAMFLEET_DATA_DIR"] = str(tmp_path / "data")
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [*CAMFLEET, "demo", "--no-serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "imported the example register" in output
    spec = load_spec(precinct_file("demo"))
    assert output.count("registered") >= len(spec.cameras)
    assert "sweep 1 completed: 10/10 cameras" in output
    assert "admin token for the API and pages: cf_" in output.replace("\n", "")
    assert spec.cameras[0].password not in output
    # The simulated precinct was stopped with the demo.
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert left.stdout.strip() == ""
