"""Run the camfleet CLI as a subprocess (optionally inside a namespace) against a tmp database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PRECINCTS = Path(__file__).resolve().parent / "precincts"
# The passwords of the simulated cameras; no output of camfleet may contain them.
PASSWORD = "Pw-7f3c-discovery"
OTHER_PASSWORD = "Pw-other-camera-9"
HEADER = (
    "region_code,region_name,district_code,district_name,constituency_code,constituency_name,"
    "precinct_code,precinct_name,address,expected_cameras,responsible_person,responsible_role,"
    "phone,network"
)


def camfleet_bin() -> str:
    """Return the camfleet entry point of the interpreter running the tests (the clone's venv)."""
    return str(Path(sys.executable).parent / "camfleet")


def register_csv(precincts: Sequence[tuple[str, int, str]]) -> str:
    """Return a register with one precinct per (code, expected cameras, network)."""
    lines = [HEADER]
    for code, expected, network in precincts:
        lines.append(
            f"TST,Test viloyati,TST-01,Test tumani,TST-01-K1,1-son okrug,{code},"
            f"{code} uchastkasi,,{expected},,,,{network}"
        )
    return "\n".join(lines) + "\n"


@dataclass
class Cli:
    """The CLI with its own database and data directory; records everything it printed."""

    tmp: Path
    netns: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """Return the environment of every invocation."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAMFLEET_")}
        env.update(
            CAMFLEET_DATABASE_URL=f"sqlite:///{self.tmp / 'camfleet.db'}",
            CAMFLEET_DATA_DIR=str(self.tmp / "data"),
            CAMFLEET_ONVIF_TIMEOUT_S="2",
            PYTHONPATH=str(PROJECT_ROOT),
        )
        env.update(self.extra_env)
        return env

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run one command and return its result (never raises on a non-zero exit)."""
        argv = [camfleet_bin(), *args]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        started = time.monotonic()
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=self.tmp,
            check=False,
        )
        self.outputs += [done.stdout, done.stderr]
        self.timings.append((" ".join(args[:3]), time.monotonic() - started))
        return done

    def setup(self, precincts: Sequence[tuple[str, int, str]], password: str = PASSWORD) -> None:
        """Import the precincts and store the cameras' login for the region."""
        register = self.tmp / "register.csv"
        register.write_text(register_csv(precincts), encoding="utf-8")
        done = self.run("sites", "import", str(register))
        assert done.returncode == 0, done.stderr
        done = self.run(
            "credentials", "add", "--site", "TST", "--username", "admin", stdin=password
        )
        assert done.returncode == 0, done.stderr

    def copy(self, tmp: Path) -> Cli:
        """Return a CLI on a copy of this one's database and key (a cheap fresh start)."""
        shutil.copytree(self.tmp, tmp, dirs_exist_ok=True)
        return Cli(tmp, netns=self.netns)

    def discover(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Run `discover --json` and return the exit code and the parsed report."""
        done = self.run("discover", *args, "--json")
        assert done.stdout.strip(), f"no report; stderr: {done.stderr}"
        return done.returncode, json.loads(done.stdout)

    def assert_no_secret(self, *secrets: str) -> None:
        """Fail if any output so far contains one of the secrets."""
        for text in self.outputs:
            for secret in secrets:
                assert secret not in text


def by_host(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the report's devices keyed by host."""
    return {d["host"]: d for d in report["devices"]}
