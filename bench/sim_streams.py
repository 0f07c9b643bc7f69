"""Measure how many concurrent sub streams the simulator's RTSP server sustains.

The server runs in its own process (cameras on 127.0.21.100-199); this process opens N raw
RTSP clients (handshake with Digest auth, then count interleaved RTP, no decoding), reads for
a fixed window, and prints streams served, server CPU, frames and packets delivered per
second against what real time requires.

    .venv/bin/python bench/sim_streams.py                 # N = 100, 250, 500; 20 s each
    .venv/bin/python bench/sim_streams.py -n 50 -s 5      # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sim.rtsp.background import free_port
from sim.rtsp.client import MediaStats, RtspClient
from sim.spec import SUB, CameraSpec

HOSTS = [f"127.0.21.{i}" for i in range(100, 200)]
PASSWORD = "bench-pw"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cameras(port: int) -> list[CameraSpec]:
    """Return the benchmark's cameras: one live sub-stream camera per host."""
    return [
        CameraSpec(
            "BENCH", f"cam{i:03d}", "live", host, port, 80, "admin", PASSWORD, streams=(SUB,)
        )
        for i, host in enumerate(HOSTS)
    ]


async def serve(port: int) -> None:
    """Run the server until stdin closes (the benchmark process's child)."""
    from sim.rtsp.server import RtspServer

    server = RtspServer(cameras(port))
    await server.start()
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop()


def cpu_seconds(pid: int) -> float:
    """Return user+system CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    """Return a process's resident memory in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Outcome:
    """One client's result."""

    played: bool
    stats: MediaStats


class Barrier:
    """Count finished handshakes; release every client together when all are done."""

    def __init__(self, count: int) -> None:
        """Expect `count` handshakes."""
        self.pending = count
        self.all_ready = asyncio.Event()
        self.start = asyncio.Event()

    def arrived(self) -> None:
        """Record one finished handshake (successful or not)."""
        self.pending -= 1
        if self.pending == 0:
            self.all_ready.set()


async def one_client(
    camera: CameraSpec, gate: asyncio.Semaphore, barrier: Barrier, seconds: float
) -> Outcome:
    """Open one stream, keep reading until the common start, then count for a while."""
    try:
        async with gate:
            client = await asyncio.wait_for(RtspClient.connect(camera.host, camera.rtsp_port), 10)
            client.set_credentials(camera.username, camera.password)
            played = await asyncio.wait_for(client.play(camera.stream_url("sub")), 10)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        barrier.arrived()
        return Outcome(False, MediaStats())
    barrier.arrived()
    if played.status != 200:
        await client.close()
        return Outcome(False, MediaStats())
    try:
        while not barrier.start.is_set():
            await client.read_media(0.2)
        stats = await client.read_media(seconds)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        stats = MediaStats()
    await client.close()
    return Outcome(True, stats)


async def run_clients(count: int, port: int, seconds: float, server_pid: int) -> dict[str, float]:
    """Open `count` streams, measure one window, and return the figures."""
    cams = cameras(port)
    gate = asyncio.Semaphore(32)  # handshakes in flight at once
    barrier = Barrier(count)
    opened = time.monotonic()
    tasks = [
        asyncio.create_task(one_client(cams[i % len(cams)], gate, barrier, seconds))
        for i in range(count)
    ]
    await barrier.all_ready.wait()
    setup_s = time.monotonic() - opened
    await asyncio.sleep(1.0)
    cpu0, wall0 = cpu_seconds(server_pid), time.monotonic()
    barrier.start.set()
    outcomes = await asyncio.gather(*tasks)
    wall = time.monotonic() - wall0
    cpu = cpu_seconds(server_pid) - cpu0
    served = [o for o in outcomes if o.played]
    frames = sum(o.stats.frames for o in served)
    packets = sum(o.stats.packets for o in served)
    payload = sum(o.stats.payload_bytes for o in served)
    short = sum(1 for o in served if o.stats.frames < 0.9 * SUB.fps * seconds)
    return {
        "streams": count,
        "served": len(served),
        "setup_s": setup_s,
        "window_s": wall,
        "cpu_pct": 100 * cpu / wall,
        "rss_mib": rss_mib(server_pid),
        "frames_s": frames / seconds,
        "expected_frames_s": len(served) * SUB.fps,
        "packets_s": packets / seconds,
        "mbit_s": payload * 8 / seconds / 1e6,
        "short_streams": short,
        "seq_gaps": sum(o.stats.seq_gaps for o in served),
    }


async def churn_worker(camera: CameraSpec, deadline: float, counts: list[int]) -> None:
    """Open a stream, take five frames, tear down; again until the deadline."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        try:
            client = await asyncio.wait_for(RtspClient.connect(camera.host, camera.rtsp_port), 10)
            client.set_credentials(camera.username, camera.password)
            played = await asyncio.wait_for(client.play(camera.stream_url("sub")), 10)
            stats = MediaStats()
            while played.status == 200 and stats.frames < 5 and loop.time() < deadline + 5:
                await client.read_media(0.1, stats)
            if played.status == 200:
                await client.request("TEARDOWN", camera.stream_url("sub") + "/")
            await client.close()
            counts[0 if played.status == 200 and stats.frames >= 5 else 1] += 1
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            counts[1] += 1


async def run_churn(workers: int, port: int, seconds: float, server_pid: int) -> dict[str, float]:
    """Run short sessions from `workers` concurrent loops; return sessions/s and CPU each."""
    cams = cameras(port)
    counts = [0, 0]
    cpu0, wall0 = cpu_seconds(server_pid), time.monotonic()
    deadline = asyncio.get_running_loop().time() + seconds
    await asyncio.gather(
        *(churn_worker(cams[i % len(cams)], deadline, counts) for i in range(workers))
    )
    wall = time.monotonic() - wall0
    cpu = cpu_seconds(server_pid) - cpu0
    return {
        "workers": workers,
        "sessions_s": counts[0] / wall,
        "failed": counts[1],
        "cpu_pct": 100 * cpu / wall,
        "cpu_ms_per_session": 1000 * cpu / max(1, counts[0]),
    }


def main() -> None:
    """Run the benchmark for each client count and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--streams", type=int, nargs="+", default=[100, 250, 500])
    parser.add_argument("-s", "--seconds", type=float, default=20.0)
    parser.add_argument(
        "--churn",
        type=int,
        nargs="*",
        default=[16, 64],
        help="concurrent open/5-frames/teardown loops to measure session set-up cost",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    port = free_port(HOSTS[0])
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "READY":
            raise SystemExit("server did not start")
        print(
            f"server pid {server.pid}, {len(HOSTS)} cameras, sub {SUB.width}x{SUB.height}"
            f"@{SUB.fps}, window {args.seconds:.0f} s"
        )
        header = (
            f"{'streams':>7} {'served':>6} {'setup s':>7} {'srv CPU%':>8} {'RSS MiB':>7} "
            f"{'frames/s':>9} {'expected':>8} {'pkts/s':>7} {'Mbit/s':>6} {'short':>5} "
            f"{'gaps':>5}"
        )
        print(header)
        for count in args.streams:
            r = asyncio.run(run_clients(count, port, args.seconds, server.pid))
            print(
                f"{r['streams']:>7.0f} {r['served']:>6.0f} {r['setup_s']:>7.1f} "
                f"{r['cpu_pct']:>8.1f} {r['rss_mib']:>7.0f} {r['frames_s']:>9.0f} "
                f"{r['expected_frames_s']:>8.0f} {r['packets_s']:>7.0f} {r['mbit_s']:>6.1f} "
                f"{r['short_streams']:>5.0f} {r['seq_gaps']:>5.0f}",
                flush=True,
            )
            time.sleep(1.0)
        if args.churn:
            print(
                f"{'loops':>7} {'sessions/s':>10} {'failed':>6} {'srv CPU%':>8} "
                f"{'CPU ms/session':>14}"
            )
        for workers in args.churn:
            c = asyncio.run(run_churn(workers, port, args.seconds, server.pid))
            print(
                f"{c['workers']:>7.0f} {c['sessions_s']:>10.1f} {c['failed']:>6.0f} "
                f"{c['cpu_pct']:>8.1f} {c['cpu_ms_per_session']:>14.2f}",
                flush=True,
            )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
