"""Readiness API latency at national scale: 11,000 precincts, 22,000 cameras, 32 clients.

Fills a fresh database (a SQLite file, or a dedicated schema in PostgreSQL database ``test``,
dropped afterwards), starts ``uvicorn`` with the camfleet app on 127.0.0.1 in its own process,
and measures over HTTP from 32 concurrent clients (2 client processes × 16 keep-alive connections):

- ``rollup_region``   GET /api/v1/readiness/rollup?level=region
- ``rollup_district`` GET /api/v1/readiness/rollup?level=district&prefix=<region>
- ``site_not_ready``  GET /api/v1/readiness/sites/<district>      (rollup + not-ready list)
- ``not_ready_list``  GET /api/v1/readiness/precincts?state=not_ready&page=<1..5>

Run: .venv/bin/python bench/api_latency.py [--backend sqlite|postgresql|both] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camfleet.db import make_engine, session_factory, transaction, upgrade
from camfleet.models import Camera, CameraState, Site
from camfleet.readiness_query import load_snapshot
from camfleet.status import Status
from camfleet.timeutil import utcnow
from camfleet.tokens import Role, create_token

PG_URL = os.environ.get("CAMFLEET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REGIONS = 14
DISTRICTS_PER_REGION = 14  # 196 districts
CONSTITUENCIES_PER_DISTRICT = 4  # 784 constituencies
PRECINCTS = 11_000
CAMERAS_PER_PRECINCT = 2
CLIENT_PROCESSES = 2
CONNECTIONS_PER_PROCESS = 16
SWEEP_INTERVAL_S = 3600.0
# Mixed current states, roughly a fleet on the eve of election day.
STATUS_MIX = [
    (Status.OK, 0.90),
    (Status.BLURRED, 0.03),
    (Status.FROZEN, 0.015),
    (Status.UNREACHABLE, 0.02),
    (Status.BLACK, 0.005),
    (None, 0.03),  # stale
]


def _status(rng: random.Random) -> Status | None:
    x = rng.random()
    for status, share in STATUS_MIX:
        if x < share:
            return status
        x -= share
    return Status.OK


def fill(engine: Engine) -> dict[str, list[str]]:
    """Write the national register, cameras and current states; return codes per level."""
    rng = random.Random(2026)
    now = utcnow()
    sites: list[dict[str, object]] = []
    codes: dict[str, list[str]] = {"region": [], "district": [], "precinct": []}
    next_id = 1
    constituencies: list[tuple[int, str]] = []
    for r in range(REGIONS):
        rc = f"R{r:02d}"
        rid = next_id
        next_id += 1
        sites.append(
            dict(
                id=rid, code=rc, name=f"Region {r}", level="region", parent_id=None, path=f"/{rc}/"
            )
        )
        codes["region"].append(rc)
        for d in range(DISTRICTS_PER_REGION):
            dc = f"{rc}-{d:02d}"
            did = next_id
            next_id += 1
            sites.append(
                dict(
                    id=did,
                    code=dc,
                    name=f"District {dc}",
                    level="district",
                    parent_id=rid,
                    path=f"/{rc}/{dc}/",
                )
            )
            codes["district"].append(dc)
            for k in range(CONSTITUENCIES_PER_DISTRICT):
                kc = f"{dc}-K{k}"
                kid = next_id
                next_id += 1
                sites.append(
                    dict(
                        id=kid,
                        code=kc,
                        name=f"Okrug {kc}",
                        level="constituency",
                        parent_id=did,
                        path=f"/{rc}/{dc}/{kc}/",
                    )
                )
                constituencies.append((kid, f"/{rc}/{dc}/{kc}/"))
    precinct_ids: list[int] = []
    for p in range(PRECINCTS):
        kid, kpath = constituencies[p % len(constituencies)]
        pc = f"P{p:05d}"
        sites.append(
            dict(
                id=next_id,
                code=pc,
                name=f"{p}-son uchastka",
                level="precinct",
                parent_id=kid,
                path=f"{kpath}{pc}/",
                expected_cameras=2,
            )
        )
        precinct_ids.append(next_id)
        codes["precinct"].append(pc)
        next_id += 1
    cameras: list[dict[str, object]] = []
    states: list[dict[str, object]] = []
    cam_id = 1
    for pid in precinct_ids:
        # A few precincts are short of a camera.
        n = CAMERAS_PER_PRECINCT if rng.random() > 0.01 else 1
        for c in range(n):
            cameras.append(
                dict(
                    id=cam_id,
                    site_id=pid,
                    name=f"cam{c}",
                    source="onvif",
                    enabled=True,
                    thresholds={},
                    registered_at=now,
                    updated_at=now,
                )
            )
            status = _status(rng)
            at = now - timedelta(minutes=rng.randint(1, 50))
            if status is None:
                status, at = Status.OK, now - timedelta(seconds=3 * SWEEP_INTERVAL_S)
            reasons = [] if status is Status.OK else [{"code": status.value, "message": status}]
            states.append(
                dict(
                    camera_id=cam_id,
                    status=status.value,
                    hard_status=status.value,
                    state_type="hard",
                    attempt=1,
                    reasons=reasons,
                    measurements={},
                    last_check_at=at,
                    last_change_at=at,
                    recent=[],
                    flapping=False,
                )
            )
            cam_id += 1
    for s in sites:
        s.setdefault("expected_cameras", None)
        s["created_at"] = now
        s["updated_at"] = now
    with engine.begin() as conn:
        for table, rows in ((Site, sites), (Camera, cameras), (CameraState, states)):
            for i in range(0, len(rows), 2000):
                conn.execute(insert(table), rows[i : i + 2000])
        if engine.dialect.name == "postgresql":
            for table in ("sites", "cameras"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            conn.execute(text("ANALYZE"))
    return codes


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """Yield the URL of a fresh database of the backend; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


SERVER = """
import sys, uvicorn
from api.app import create_app
from camfleet.config import load_settings
settings = load_settings(database_url=sys.argv[1], data_dir=sys.argv[2],
                         secret_key="bench-secret-key-0123456789abcdef0123",
                         scheduler_enabled=False)
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning",
            access_log=False)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _urls(codes: dict[str, list[str]], rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(("rollup_region", "rollup_district", "site_not_ready", "not_ready_list"))
    if kind == "rollup_region":
        return kind, "/api/v1/readiness/rollup?level=region"
    if kind == "rollup_district":
        region = rng.choice(codes["region"])
        return kind, f"/api/v1/readiness/rollup?level=district&prefix={region}-&page_size=100"
    if kind == "site_not_ready":
        return kind, f"/api/v1/readiness/sites/{rng.choice(codes['district'])}"
    return kind, f"/api/v1/readiness/precincts?state=not_ready&page={rng.randint(1, 5)}"


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, token: str
) -> int:
    """Send one keep-alive GET and read the whole answer; return the status code.

    A few lines of HTTP/1.1 instead of an HTTP library keep the clients' own CPU small, so on a
    2-core machine the figures describe the server rather than the load generator.
    """
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _client_loop(
    port: int, token: str, codes: dict[str, list[str]], seconds: float, warmup: float, seed: int
) -> list[tuple[str, float, int]]:
    rng = random.Random(seed)
    samples: list[tuple[str, float, int]] = []
    start = time.perf_counter()
    stop = start + warmup + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop:
                kind, url = _urls(codes, rng)
                t0 = time.perf_counter()
                code = await _get(reader, writer, url, token)
                dt = time.perf_counter() - t0
                if t0 - start >= warmup:
                    samples.append((kind, dt, code))
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS_PER_PROCESS)))
    return samples


def _client_process(
    args: tuple[str, str, dict[str, list[str]], float, float, int],
) -> list[tuple[str, float, int]]:
    return asyncio.run(_client_loop(*args))


def _writer(url: str, rate: int, seconds: float, cameras: int) -> None:
    """Record `rate` checks a second into camera_states, as a running sweep does."""
    from sqlalchemy import update

    engine = make_engine(url)
    rng = random.Random(7)
    stop = time.monotonic() + seconds
    statuses = [Status.OK] * 18 + [Status.FROZEN, Status.UNREACHABLE]
    while time.monotonic() < stop:
        tick = time.monotonic()
        now = utcnow()
        with engine.begin() as conn:
            for cid in rng.sample(range(1, cameras + 1), rate):
                status = rng.choice(statuses).value
                conn.execute(
                    update(CameraState)
                    .where(CameraState.camera_id == cid)
                    .values(status=status, hard_status=status, last_check_at=now)
                )
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    engine.dispose()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(backend: str, seconds: float, warmup: float, writer_rate: int) -> None:
    """Fill, serve and measure one backend; print the figures."""
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        codes = fill(engine)
        fill_s = time.perf_counter() - t0
        with engine.connect() as conn:
            n_cameras = int(conn.execute(text("SELECT count(*) FROM cameras")).scalar_one())
        sessions = session_factory(engine)
        with transaction(sessions) as session:
            _, token = create_token(session, "bench", Role.MONITOR)
        timings = []
        for _ in range(3):
            t0 = time.perf_counter()
            with sessions() as session:
                snap = load_snapshot(session, utcnow(), SWEEP_INTERVAL_S)
            timings.append(time.perf_counter() - t0)
        engine.dispose()
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        server = subprocess.Popen([sys.executable, "-c", SERVER, url, tmp, str(port)], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
            cold0 = time.perf_counter()
            first = httpx.get(
                f"{base}/api/v1/readiness/rollup",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            cold_ms = (time.perf_counter() - cold0) * 1000
            assert first.status_code == 200, first.text
            scenarios: dict[str, list[tuple[str, float, int]]] = {}
            ctx = multiprocessing.get_context("spawn")
            for scenario, rate in (
                ("quiet", 0),
                (f"sweep writing {writer_rate} checks/s", writer_rate),
            ):
                if scenario != "quiet" and not writer_rate:
                    continue
                writer = None
                if rate:
                    writer = ctx.Process(
                        target=_writer, args=(url, rate, seconds + warmup, n_cameras)
                    )
                    writer.start()
                jobs = [(port, token, codes, seconds, warmup, i) for i in range(CLIENT_PROCESSES)]
                with ctx.Pool(CLIENT_PROCESSES) as pool:
                    results = pool.map(_client_process, jobs)
                if writer is not None:
                    writer.join()
                scenarios[scenario] = [s for part in results for s in part]
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(
        f"\n== {backend}: {len(codes['precinct'])} precincts, {n_cameras} cameras, "
        f"{sum(snap.rollup_of(r).total for r in codes['region'])} rolled up, "
        f"{CLIENT_PROCESSES * CONNECTIONS_PER_PROCESS} concurrent clients, {seconds:.0f} s =="
    )
    print(
        f"fill {fill_s:.1f} s; snapshot build (one query + rules + rollup) "
        f"{', '.join(f'{t * 1000:.0f}' for t in timings)} ms; "
        f"first request (cold) {cold_ms:.0f} ms"
    )
    for scenario, samples in scenarios.items():
        errors = sum(1 for _, _, code in samples if code != 200)
        print(f"-- {scenario}")
        print(
            f"{'endpoint':<16} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'p99 ms':>8} {'max ms':>8}"
        )
        kinds = sorted({k for k, _, _ in samples})
        for kind in [*kinds, "all"]:
            vals = [dt for k, dt, _ in samples if kind in ("all", k)]
            print(
                f"{kind:<16} {len(vals):>9} {_pct(vals, 0.50):>8.1f} {_pct(vals, 0.95):>8.1f} "
                f"{_pct(vals, 0.99):>8.1f} {max(vals) * 1000:>8.1f}"
            )
        print(
            f"throughput {len(samples) / seconds:.0f} requests/s; non-200 answers: {errors}; "
            f"mean {statistics.mean(dt for _, dt, _ in samples) * 1000:.1f} ms"
        )


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--writer-rate",
        type=int,
        default=50,
        help="Checks per second recorded during the second scenario (0: skip it)",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run(backend, args.seconds, args.warmup, args.writer_rate)


if __name__ == "__main__":
    main()
