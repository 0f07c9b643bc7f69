"""The sweep's parent process imports no video or HTTP libraries; moved names still resolve."""

from __future__ import annotations

import json
import subprocess
import sys

import health.capture
import health.check
import health.model

HEAVY = ("cv2", "numpy", "httpx")
PARENT_MODULES = (
    "health.sweep",
    "health.store",
    "health.state",
    "health.targets",
    "health.pool",
    "health.model",
    "health.scheduler",
)


def _imported_after(module: str) -> list[str]:
    """Return which heavy libraries a fresh interpreter holds after importing a module."""
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_sweep_parent_imports_no_opencv_numpy_or_httpx() -> None:
    for module in PARENT_MODULES:
        assert _imported_after(module) == [], module


def test_the_checker_side_still_imports_opencv() -> None:
    # The probe above would pass vacuously if the subprocess never saw OpenCV at all.
    assert "cv2" in _imported_after("health.check")


def test_plain_data_keeps_its_old_import_paths() -> None:
    assert health.check.CheckTarget is health.model.CheckTarget
    assert health.check.CheckOutcome is health.model.CheckOutcome
    assert health.check.CaptureOptions is health.model.CaptureOptions
    assert health.capture.CaptureOptions is health.model.CaptureOptions
