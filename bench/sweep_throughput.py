"""Sweep throughput over simulated cameras, side by side with one ffmpeg process per camera.

Starts the simulator (its own process, RTSP only) with N cameras on 127.0.30.1-250 (ports 8554
upward once every address has a camera: the benchmark stays inside 127.0.30.0/24), registers
them in a SQLite database in a temporary directory, runs a real sweep (checker processes,
results stored), then runs the naive baseline over the same cameras at the same concurrency and
sampling window: one ``ffmpeg … -vf blackdetect,freezedetect`` process per camera. Prints checks
per second, CPU seconds per check, p50/p95 check time and peak memory for both, and the ratios.

The baseline needs the ``ffmpeg`` program (Debian: ``apt-get install -y ffmpeg``; ``make bench``
installs it). Its stream URLs carry credentials, so each is written to a 0600 ffconcat file
instead of the command line: no password appears in a process argument.

    python bench/sweep_throughput.py [--cameras 1000] [--concurrency 64] [--processes 2]
        [--window 1.0] [--baseline-cameras N] [--json FILE]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import multiprocessing
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST_NETWORK = "127.0.30"
HOSTS = 250
"""Cameras take 127.0.30.1-250, one address each, then the same addresses on the next ports."""
RTSP_PORT = 8554
USERNAME = "bench"
CAMERAS_PER_PRECINCT = 10
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
TARGETS = {"checks_per_s": 40.0, "ratio": 4.0, "cpu_ms_per_check": 20.0, "checker_rss_mb": 400.0}


@dataclass
class Figures:
    """What one side of the comparison measured."""

    name: str
    checks: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    parent_cpu_s: float = 0.0
    parent_start_rss_mb: float = 0.0
    durations_s: list[float] = field(default_factory=list)
    peak_total_rss_mb: float = 0.0
    peak_total_pss_mb: float = 0.0
    peak_process_rss_mb: dict[str, float] = field(default_factory=dict)
    sim_cpu_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Return checks per second, end to end."""
        return self.checks / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def cpu_ms(self) -> float:
        """Return CPU milliseconds per check."""
        return 1000.0 * self.cpu_s / self.checks if self.checks else 0.0

    def percentile(self, p: float) -> float:
        """Return a percentile of check durations in seconds."""
        if not self.durations_s:
            return 0.0
        ordered = sorted(self.durations_s)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- process accounting ------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Return the direct children of a process."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out.extend(int(p) for p in (task / "children").read_text().split())
    except OSError:
        pass
    return out


def cmdline(pid: int) -> str:
    """Return a process's command line (empty when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_mb(pid: int) -> float:
    """Return a process's resident memory in MB (0 when it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


def pss_mb(pid: int) -> float:
    """Return a process's proportional set size in MB: shared pages counted once overall."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1e3
    except (OSError, IndexError, ValueError):
        pass
    return 0.0


def cpu_s(pid: int) -> float:
    """Return a live process's user + system CPU seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def own_cpu() -> tuple[float, float]:
    """Return CPU seconds of this process and of its waited-for children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


class MemoryWatch:
    """Sample the resident memory of this process and selected children while a phase runs."""

    def __init__(self, select: Callable[[str], bool], label: Callable[[int, str], str]) -> None:
        self._select = select
        self._label = label
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_total = 0.0
        self.peak_total_pss = 0.0
        self.peaks: dict[str, float] = {}

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        rounds = 0
        while not self._stop.wait(0.1):
            rounds += 1
            # PSS walks every mapping: sample it less often than RSS.
            with_pss = rounds % 5 == 0
            total = rss_mb(me)
            total_pss = pss_mb(me) if with_pss else 0.0
            self.peaks["parent"] = max(self.peaks.get("parent", 0.0), total)
            for pid in children(me):
                line = cmdline(pid)
                if not self._select(line):
                    continue
                value = rss_mb(pid)
                total += value
                total_pss += pss_mb(pid) if with_pss else 0.0
                key = self._label(pid, line)
                self.peaks[key] = max(self.peaks.get(key, 0.0), value)
            self.peak_total = max(self.peak_total, total)
            self.peak_total_pss = max(self.peak_total_pss, total_pss)


# --- the simulated fleet -----------------------------------------------------------------------


def fleet_spec(cameras: int, password: str) -> dict[str, Any]:
    """Return a simulator description: precincts of ten RTSP-only cameras, mostly live."""
    sites = []
    for p in range((cameras + CAMERAS_PER_PRECINCT - 1) // CAMERAS_PER_PRECINCT):
        count = min(CAMERAS_PER_PRECINCT, cameras - p * CAMERAS_PER_PRECINCT)
        cams = [
            {
                "name": f"cam{i + 1:02d}",
                "feed": "static" if i % 5 == 4 else "live",
                "host": camera_host(p * CAMERAS_PER_PRECINCT + i),
                "rtsp_port": RTSP_PORT + (p * CAMERAS_PER_PRECINCT + i) // HOSTS,
                "onvif": False,
            }
            for i in range(count)
        ]
        sites.append(
            {"code": f"BP-{p + 1:03d}", "name": f"Bench precinct {p + 1}", "cameras": cams}
        )
    return {"defaults": {"username": USERNAME, "password": password}, "sites": sites}


def camera_host(index: int) -> str:
    """Return the loopback address of the index-th camera, always inside 127.0.30.0/24."""
    return f"{HOST_NETWORK}.{1 + index % HOSTS}"


def toml_text(data: dict[str, Any]) -> str:
    """Return the description as TOML."""
    d = data["defaults"]
    lines = ["[defaults]"] + [f'{k} = "{v}"' for k, v in d.items()]
    for site in data["sites"]:
        lines += ["", "[[sites]]", f'code = "{site["code"]}"', f'name = "{site["name"]}"']
        for cam in site["cameras"]:
            lines += ["[[sites.cameras]]", f'name = "{cam["name"]}"', f'feed = "{cam["feed"]}"']
            lines += [f'host = "{cam["host"]}"', f"rtsp_port = {cam['rtsp_port']}", "onvif = false"]
    return "\n".join(lines) + "\n"


def register_fleet(sessions: Any, vault: Any, spec: Any, password: str) -> None:
    """Register every simulated camera under one region, with its sub stream as check stream."""
    from camfleet.credentials import add_credential
    from camfleet.db import transaction
    from camfleet.models import Camera, MediaProfile, Site

    with transaction(sessions) as session:
        region = Site(code="BR", name="Bench region", level="region", path="/BR/")
        district = Site(code="BR-01", name="Bench district", level="district", parent=region)
        district.path = "/BR/BR-01/"
        con = Site(code="BR-01-1", name="Bench constituency", level="constituency")
        con.parent, con.path = district, "/BR/BR-01/BR-01-1/"
        session.add_all([region, district, con])
        session.flush()
        cred = add_credential(session, vault, region, USERNAME, password)
        precincts: dict[str, Site] = {}
        for cam in spec.cameras:
            site = precincts.get(cam.site)
            if site is None:
                site = Site(code=cam.site, name=cam.site, level="precinct", parent=con)
                site.path = f"{con.path}{cam.site}/"
                site.expected_cameras = len(spec.site(cam.site))
                session.add(site)
                session.flush()
                precincts[cam.site] = site
            sub = next(s for s in cam.streams if s.token == "sub")
            session.add(
                Camera(
                    site_id=site.id,
                    name=cam.name,
                    source="manual",
                    host=cam.host,
                    credential_id=cred.id,
                    check_profile_token="sub",
                    thresholds={},
                    profiles=[
                        MediaProfile(
                            token="sub",
                            encoding="H264",
                            width=sub.width,
                            height=sub.height,
                            fps=float(sub.fps),
                            stream_uri=cam.stream_url("sub"),
                        )
                    ],
                )
            )


# --- the two sides ------------------------------------------------------------------------------


def register_in_child(settings: Any, data: dict[str, Any], password: str) -> None:
    """Create the benchmark database and register the fleet in it (run in a child process)."""
    from camfleet.db import make_engine, session_factory, upgrade
    from camfleet.vault import Vault
    from sim.spec import parse_spec

    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    register_fleet(
        session_factory(engine), Vault.from_settings(settings), parse_spec(data), password
    )
    engine.dispose()


def run_checker(
    args: argparse.Namespace, work: Path, data: dict[str, Any], password: str, sim_pid: int
) -> Figures:
    """Run a real sweep over the fleet and measure it."""
    from sqlalchemy import select

    from camfleet.config import load_settings
    from camfleet.db import make_engine, session_factory
    from camfleet.models import CheckResult
    from camfleet.vault import Vault
    from health.sweep import run_sweep

    url = f"sqlite:///{work / 'bench.db'}"
    settings = load_settings(
        database_url=url,
        data_dir=work,
        secret_key=secrets.token_urlsafe(32),
        concurrency=args.concurrency,
        worker_processes=args.processes,
        sample_window_s=args.window,
        scheduler_enabled=False,
    )
    # Creating the schema (Alembic) and registering 1,000 cameras through the ORM are the
    # benchmark's set-up, not the sweep's work: a child process does them, so the measured
    # parent is a process that only runs the sweep.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as setup:
        setup.submit(register_in_child, settings, data, password).result()
    engine = make_engine(url)
    sessions = session_factory(engine)
    vault = Vault.from_settings(settings)
    figures = Figures("camfleet sweep")
    figures.parent_start_rss_mb = rss_mb(os.getpid())
    sim_before = cpu_s(sim_pid)
    self_before, kids_before = own_cpu()
    with MemoryWatch(lambda line: "spawn_main" in line, lambda pid, _: f"checker {pid}") as watch:
        summary = run_sweep(settings, sessions, vault, None, "bench")
    self_after, kids_after = own_cpu()
    figures.sim_cpu_s = cpu_s(sim_pid) - sim_before
    figures.elapsed_s = summary.elapsed_s
    figures.checks = summary.checks
    figures.cpu_s = (self_after - self_before) + (kids_after - kids_before)
    figures.parent_cpu_s = self_after - self_before
    figures.peak_total_rss_mb = watch.peak_total
    figures.peak_total_pss_mb = watch.peak_total_pss
    figures.peak_process_rss_mb = watch.peaks
    figures.statuses = dict(summary.counts)
    with sessions() as session:
        figures.durations_s = [
            ms / 1000.0
            for ms in session.scalars(
                select(CheckResult.duration_ms).where(CheckResult.sweep_id == summary.sweep_id)
            )
        ]
    engine.dispose()
    if summary.status != "completed":
        print(f"warning: sweep ended {summary.status}: {summary.error}", file=sys.stderr)
    return figures


def ffmpeg_check(ffmpeg: str, concat_file: Path, window: float) -> tuple[float, str]:
    """Run one ffmpeg black/freeze detection over the window; return its time and verdict."""
    argv = [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats",
        "-protocol_whitelist", "file,rtsp,rtp,tcp,udp",
        "-f", "concat", "-safe", "0", "-i", str(concat_file),
        "-t", f"{window}", "-an",
        "-vf", "blackdetect=d=0.5,freezedetect=d=0.5",
        "-f", "null", "-",
    ]  # fmt: skip
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return time.monotonic() - started, "timeout"
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        return elapsed, "error"
    if "black_start" in done.stderr:
        return elapsed, "black"
    if "freeze_start" in done.stderr:
        return elapsed, "frozen"
    return elapsed, "ok"


def run_baseline(
    args: argparse.Namespace, work: Path, spec: Any, password: str, sim_pid: int
) -> Figures:
    """Run one ffmpeg process per camera, at the same concurrency and window, and measure it."""
    from urllib.parse import quote

    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    secret_dir = Path(tempfile.mkdtemp(prefix="ffconcat-", dir=work))
    secret_dir.chmod(0o700)
    files = []
    cameras = spec.cameras[: args.baseline_cameras or len(spec.cameras)]
    for i, cam in enumerate(cameras):
        url = cam.stream_url("sub").replace(
            "rtsp://", f"rtsp://{quote(USERNAME, safe='')}:{quote(password, safe='')}@", 1
        )
        path = secret_dir / f"cam{i}.ffconcat"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"ffconcat version 1.0\nfile '{url}'\noption rtsp_transport tcp\n")
        files.append(path)
    figures = Figures("ffmpeg per camera")
    sim_before = cpu_s(sim_pid)
    self_before, kids_before = own_cpu()
    started = time.monotonic()
    with (
        MemoryWatch(
            lambda line: line.startswith(ffmpeg) or "ffmpeg" in line.split(" ")[0],
            lambda _pid, _line: "ffmpeg",
        ) as watch,
        ThreadPoolExecutor(args.concurrency) as pool,
    ):
        results = list(pool.map(lambda f: ffmpeg_check(ffmpeg, f, args.window), files))
    figures.elapsed_s = time.monotonic() - started
    self_after, kids_after = own_cpu()
    figures.sim_cpu_s = cpu_s(sim_pid) - sim_before
    figures.checks = len(results)
    figures.cpu_s = (self_after - self_before) + (kids_after - kids_before)
    figures.durations_s = [d for d, _ in results]
    figures.peak_total_rss_mb = watch.peak_total
    figures.peak_total_pss_mb = watch.peak_total_pss
    figures.peak_process_rss_mb = {"ffmpeg (largest)": watch.peaks.get("ffmpeg", 0.0)}
    figures.statuses = dict(_count(v for _, v in results))
    shutil.rmtree(secret_dir, ignore_errors=True)
    return figures


def _count(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


# --- report ------------------------------------------------------------------------------------


def report(checker: Figures, baseline: Figures | None, args: argparse.Namespace) -> dict[str, Any]:
    """Print both sides and the ratios; return the figures as data."""
    sides = [checker] + ([baseline] if baseline else [])
    rows: list[tuple[str, Callable[[Figures], str]]] = [
        ("checks", lambda f: f"{f.checks}"),
        ("elapsed s", lambda f: f"{f.elapsed_s:.1f}"),
        ("checks/s (end to end)", lambda f: f"{f.rate:.1f}"),
        ("CPU ms per check", lambda f: f"{f.cpu_ms:.1f}"),
        ("  of which parent process", lambda f: f"{1000 * f.parent_cpu_s / max(1, f.checks):.1f}"),
        ("check time p50 s", lambda f: f"{f.percentile(50):.2f}"),
        ("check time p95 s", lambda f: f"{f.percentile(95):.2f}"),
        ("peak RSS total MB", lambda f: f"{f.peak_total_rss_mb:.0f}"),
        ("peak PSS total MB", lambda f: f"{f.peak_total_pss_mb:.0f}"),
        (
            "peak RSS largest process MB",
            lambda f: f"{max(f.peak_process_rss_mb.values(), default=0):.0f}",
        ),
        ("simulator CPU ms per check", lambda f: f"{1000 * f.sim_cpu_s / max(1, f.checks):.1f}"),
        ("results", lambda f: ", ".join(f"{v} {k}" for k, v in sorted(f.statuses.items()))),
    ]
    print(
        f"\n{args.cameras} simulated cameras, concurrency {args.concurrency}, "
        f"{args.processes} checker processes, window {args.window:g} s, {os.cpu_count()} CPUs"
    )
    print(f"{'':32}" + "".join(f"{s.name:>24}" for s in sides))
    for label, fmt in rows:
        print(f"{label:32}" + "".join(f"{fmt(s):>24}" for s in sides))
    print(f"sweep parent RSS at the start of the sweep (MB): {checker.parent_start_rss_mb:.0f}")
    print(
        "checker peak RSS by process (MB): "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(checker.peak_process_rss_mb.items()))
    )
    data: dict[str, Any] = {"args": vars(args), "checker": _as_data(checker)}
    ratio = None
    if baseline is not None and baseline.rate:
        ratio = checker.rate / baseline.rate
        cpu_ratio = baseline.cpu_ms / checker.cpu_ms if checker.cpu_ms else 0.0
        mem_ratio = baseline.peak_total_rss_mb / max(1.0, checker.peak_total_rss_mb)
        print(
            f"\nthroughput {ratio:.1f}x the baseline; {cpu_ratio:.1f}x less CPU per check; "
            f"{mem_ratio:.1f}x less peak memory"
        )
        data["baseline"] = _as_data(baseline)
        data["ratio"] = ratio
    checks = [
        ("≥ 40 checks/s end to end", checker.rate >= TARGETS["checks_per_s"]),
        ("≥ 4x the baseline", ratio is not None and ratio >= TARGETS["ratio"]),
        ("≤ 20 ms checker CPU per check", checker.cpu_ms <= TARGETS["cpu_ms_per_check"]),
        ("≤ 400 MB checker RSS in total", checker.peak_total_rss_mb <= TARGETS["checker_rss_mb"]),
    ]
    print("\ntargets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in checks))
    data["targets_met"] = {name: ok for name, ok in checks}
    return data


def _as_data(f: Figures) -> dict[str, Any]:
    out = asdict(f)
    out.pop("durations_s")
    out.update(
        checks_per_s=round(f.rate, 2),
        cpu_ms_per_check=round(f.cpu_ms, 2),
        p50_s=round(f.percentile(50), 3),
        p95_s=round(f.percentile(95), 3),
        mean_s=round(statistics.fmean(f.durations_s), 3) if f.durations_s else 0.0,
    )
    return out


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--processes", type=int, default=1, help="checker processes")
    parser.add_argument("--window", type=float, default=1.0, help="seconds of video per check")
    parser.add_argument("--baseline-cameras", type=int, default=0, help="0: all cameras")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not args.no_baseline and shutil.which("ffmpeg") is None:
        print(
            "the baseline needs the ffmpeg program: apt-get install -y ffmpeg "
            "(or run `make bench`), or pass --no-baseline",
            file=sys.stderr,
        )
        return 2

    from sim.launch import start_sim
    from sim.spec import parse_spec

    password = secrets.token_urlsafe(12)
    data = fleet_spec(args.cameras, password)
    spec = parse_spec(data)
    network = ipaddress.ip_network(f"{HOST_NETWORK}.0/24")
    assert all(ipaddress.ip_address(c.host) in network for c in spec.cameras)
    with tempfile.TemporaryDirectory(prefix="camfleet-bench-") as tmp:
        work = Path(tmp)
        spec_file = work / "fleet.toml"
        fd = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(toml_text(data))
        print(f"starting the simulator with {args.cameras} cameras on {HOST_NETWORK}.0/24 ...")
        sim = start_sim([str(spec_file)], work / "sim", timeout=300)
        try:
            time.sleep(1.0)  # let the simulator settle after binding its listeners
            checker = run_checker(args, work, data, password, sim.pid)
            baseline = (
                None if args.no_baseline else run_baseline(args, work, spec, password, sim.pid)
            )
        finally:
            sim.stop()
        figures = report(checker, baseline, args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
