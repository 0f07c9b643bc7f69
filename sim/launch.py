"""Start and stop ``python -m sim up`` as a child process (for tests, benchmarks and demos)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.netns import NetnsPair, create_pair, exec_in, unique_prefix
from sim.spec import PrecinctSpec, load_spec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


class SimLaunchError(RuntimeError):
    """The simulator did not become ready, or did not stop cleanly."""


@dataclass
class SimProcess:
    """A running simulator process, its output file and what its ready file reported."""

    proc: subprocess.Popen[bytes]
    log: Path
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        """Return the process id (unchanged when the simulator re-executes into a netns)."""
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the simulator's output, for error messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Send SIGTERM, wait for the exit, and return the exit status (SIGKILL if it hangs)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise SimLaunchError("simulator ignored SIGTERM:\n" + self.log_tail()) from None
        return self.proc.returncode

    def kill(self) -> None:
        """Kill the process at once if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def _wait_ready(sim: SimProcess, ready_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if sim.proc.poll() is not None:
            code = sim.proc.returncode
            raise SimLaunchError(f"simulator exited with {code}:\n{sim.log_tail()}")
        if time.monotonic() > deadline:
            raise SimLaunchError(f"simulator not ready after {timeout:.0f} s:\n{sim.log_tail()}")
        time.sleep(0.05)


def start_sim(
    args: Sequence[str], workdir: Path, *, timeout: float = READY_TIMEOUT_S
) -> SimProcess:
    """Run ``python -m sim up ARGS --no-secrets --ready-file ...`` and wait until it listens."""
    workdir = workdir.resolve()  # the simulator runs in the project root
    workdir.mkdir(parents=True, exist_ok=True)
    ready_file = workdir / "sim-ready.json"
    log = workdir / "sim.log"
    ready_file.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "sim", "up", *args, "--no-secrets"]
    argv += ["--ready-file", str(ready_file)]
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - an argv list of this interpreter, no shell
            argv, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    sim = SimProcess(proc, log)
    try:
        _wait_ready(sim, ready_file, timeout)
    except BaseException:
        sim.kill()
        raise
    sim.ready = json.loads(ready_file.read_text(encoding="utf-8"))
    return sim


@dataclass(frozen=True)
class SimNetns:
    """A simulated precinct running in namespace ``cams``, reachable from ``nvr``."""

    cams: str
    nvr: str
    nvr_host: str
    spec: PrecinctSpec
    pair: NetnsPair
    process: SimProcess

    def exec_in_nvr(
        self, argv: Sequence[str], *, timeout: float = 30.0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command on the NVR side (where camfleet would run); secrets go via stdin."""
        return exec_in(self.nvr, argv, timeout=timeout, check=False, stdin=stdin)


# Tests answer multicast probes after a short random delay; the default (0.5 s) only slows them.
TEST_WSD_MAX_DELAY_S = 0.05


def start_in_netns(
    workdir: Path,
    path: Path,
    *,
    behaviours: Sequence[str] = (),
    rtsp: bool = True,
    wsd_max_delay_s: float = TEST_WSD_MAX_DELAY_S,
) -> SimNetns:
    """Create a namespace pair and run a precinct in its cameras side (multicast on).

    ``behaviours`` are ``SITE/NAME=KIND`` overrides. Stop it with ``stop_in_netns``.
    """
    n_hosts = len(load_spec(path).cameras)
    pair = create_pair(unique_prefix(), n_hosts=n_hosts)
    args = [str(path), "--netns", pair.cams, "--host-base", pair.camera_hosts[0]]
    args += ["--wsd-max-delay", str(wsd_max_delay_s)]
    args += [f"--behaviour={b}" for b in behaviours]
    if not rtsp:
        args.append("--no-rtsp")
    try:
        process = start_sim(args, workdir)
    except BaseException:
        pair.destroy()
        raise
    spec = load_spec(path, host_base=pair.camera_hosts[0])
    return SimNetns(pair.cams, pair.nvr, pair.nvr_host, spec, pair, process)


def stop_in_netns(sim: SimNetns) -> int:
    """Stop a precinct started by ``start_in_netns``, delete its namespaces, return its status."""
    try:
        return sim.process.stop()
    finally:
        sim.pair.destroy()
