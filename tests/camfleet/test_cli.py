"""The camfleet command, run as a user runs it: real processes, a real database file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "register-jizzax.csv"
CAMFLEET = [sys.executable, "-c", "from camfleet.cli import main; main()"]
PASSWORD = "Kamera-Parol-2026!"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("CAMFLEET_")}
    out["CAMFLEET_DATA_DIR"] = str(tmp_path / "data")
    out["COLUMNS"] = "200"
    return out


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CAMFLEET, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert text in result.stderr


def test_register_round_trip_through_the_cli(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "db", "upgrade").returncode == 0
    first = run(env, "sites", "import", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    again = run(env, "sites", "import", str(EXAMPLE))
    assert "unchanged" in again.stdout
    assert "created" not in again.stdout
    out = tmp_path / "out.csv"
    assert run(env, "sites", "export", "-o", str(out)).returncode == 0
    assert out.read_bytes() == EXAMPLE.read_bytes()
    listing = run(env, "sites", "list", "--prefix", "JZX-07-01", "--table")
    assert "JZX-07-0123" in listing.stdout
    assert "JZX-01-0105" not in listing.stdout
    tree = run(env, "sites", "list")
    assert "Zomin tumani" in tree.stdout


def test_bad_register_reports_every_line_and_writes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",3,", ",x,").replace(",2,", ",x,").replace(",4,", ",x,")
    lines[7] = lines[7].replace("JZX-01-", "JZX 01 ")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(env, "sites", "import", str(bad))
    assert_clean_error(result, "nothing was imported")
    assert f"{bad}:4:" in result.stderr
    assert f"{bad}:8:" in result.stderr
    assert "no sites" in run(env, "sites", "list").stdout


def test_user_errors_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    assert_clean_error(run(env, "sites", "import", str(tmp_path / "nope.csv")), "cannot read")
    assert_clean_error(run(env, "token", "create", "--role", "installer"), "needs --site")
    assert_clean_error(
        run(env, "token", "create", "--role", "installer", "--site", "NOPE"), "no site"
    )
    env_bad = {**env, "CAMFLEET_SWEEP_INTERVAL_S": "1"}
    assert_clean_error(run(env_bad, "db", "upgrade"), "sweep_interval_s")


def test_production_refuses_to_start_without_a_secret(env: dict[str, str]) -> None:
    result = run({**env, "CAMFLEET_MODE": "production"}, "db", "upgrade")
    assert_clean_error(result, "CAMFLEET_SECRET_KEY")


def test_credentials_never_shown(env: dict[str, str]) -> None:
    assert run(env, "sites", "import", str(EXAMPLE)).returncode == 0
    added = run(
        env, "credentials", "add", "--site", "JZX-07", "--username", "admin", stdin=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    listing = run(env, "credentials", "list")
    assert "admin" in listing.stdout
    for result in (added, listing):
        assert PASSWORD not in result.stdout + result.stderr
    db = Path(env["CAMFLEET_DATA_DIR"]) / "camfleet.db"
    for f in db.parent.glob("camfleet.db*"):
        assert PASSWORD.encode() not in f.read_bytes()


def test_token_is_printed_once_and_stored_hashed(env: dict[str, str]) -> None:
    assert run(env, "sites", "import", str(EXAMPLE)).returncode == 0
    result = run(env, "token", "create", "--role", "installer", "--site", "JZX-07-0123")
    token = result.stdout.strip()
    assert token.startswith("cf_")
    db = Path(env["CAMFLEET_DATA_DIR"]) / "camfleet.db"
    assert all(token.encode() not in f.read_bytes() for f in db.parent.glob("camfleet.db*"))
