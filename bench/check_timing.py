"""Time run_check against the simulated precinct: wall time and checker CPU per feed kind.

Run: .venv/bin/python bench/check_timing.py [--rounds N]
The RTSP simulator runs in a background thread of this process; checker CPU is the checking
thread's own CPU time (decoding runs in that thread with one decoder thread).
"""

from __future__ import annotations

import argparse
import statistics
import time

from health.analysis import reference_features
from health.capture import CaptureOptions
from health.check import CheckTarget, run_check
from sim import scenes
from sim.rtsp.background import serve_in_thread
from sim.spec import SUB, CameraSpec

FEEDS = (
    *scenes.KINDS,
    "stall",
    "hang",
    "unauthorized",
    "not_found",
    "refused",
)


def camera(index: int, feed: str) -> CameraSpec:
    """Return a simulated camera on its own loopback host."""
    return CameraSpec(
        site="BEN-01-0001",
        name=f"cam{index}",
        feed=feed,
        host=f"127.0.23.{index + 150}",
        rtsp_port=8554,
        onvif_port=8080,
        username="admin",
        password="bench-pass",
        stall_after_s=0.6,
        streams=(SUB,),
    )


def main() -> None:
    """Print median wall time, checker CPU and status per feed kind."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="checks per feed kind")
    rounds = parser.parse_args().rounds
    options = CaptureOptions()
    reference = reference_features(scenes.reference(SUB.width, SUB.height)).to_bytes()
    cameras = [camera(i, feed) for i, feed in enumerate(FEEDS)]
    with serve_in_thread(cameras) as server:
        print(f"sub stream {SUB.width}x{SUB.height} @ {SUB.fps} fps, window {options.window_s} s, ")
        print(
            f"{options.samples} analysed frames, deadline {options.deadline_s} s, {rounds} rounds\n"
        )
        print(f"{'feed':14s} {'status':14s} {'wall s':>8s} {'open s':>8s} {'CPU ms':>8s}")
        for cam in cameras:
            target = CheckTarget(
                camera_id=1,
                stream_uri=server.url(cam, "sub"),
                username=cam.username,
                password=cam.password,
                expected_width=SUB.width,
                expected_height=SUB.height,
                expected_fps=SUB.fps,
                reference=reference,
            )
            walls, cpus, opens, statuses = [], [], [], set()
            for _ in range(rounds):
                cpu = time.thread_time()
                outcome = run_check(target, options)
                cpus.append((time.thread_time() - cpu) * 1000)
                walls.append(outcome.duration_s)
                opens.append(float(outcome.measurements.get("open_s", float("nan"))))
                statuses.add(outcome.status.value)
            print(
                f"{cam.feed:14s} {'/'.join(sorted(statuses)):14s} "
                f"{statistics.median(walls):8.2f} {statistics.median(opens):8.3f} "
                f"{statistics.median(cpus):8.1f}"
            )


if __name__ == "__main__":
    main()
