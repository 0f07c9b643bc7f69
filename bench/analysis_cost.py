"""Measure the CPU cost of frame analysis per 640x360 frame: each detector and the total.

Run: .venv/bin/python bench/analysis_cost.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import cv2

from health.analysis import (
    Frame,
    StreamExpectation,
    analyse,
    black_share,
    cell_changes,
    edge_share,
    reference_features,
    sharpness,
    shrink,
    thumbnail_jpeg,
    view_similarity,
)
from health.thresholds import Thresholds
from sim import scenes

WIDTH, HEIGHT, FPS, SAMPLES = 640, 360, 10, 7


def per_call_us(fn: Callable[[], object], repeat: int) -> float:
    """Return the best time of one call in microseconds over `repeat` timed batches.

    The best batch, because other processes on a shared machine only ever add time.
    """
    fn()
    batches = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(20):
            fn()
        batches.append((time.perf_counter() - started) / 20)
    return min(batches) * 1e6


def main() -> None:
    """Print µs per frame for each detector step and for the whole analysis."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30, help="timed batches per figure")
    repeat = parser.parse_args().repeat
    cv2.setNumThreads(1)  # a check worker decodes and analyses on one core
    thresholds = Thresholds()
    pictures = [scenes.render("live", WIDTH, HEIGHT, 5.0 + i * 0.2) for i in range(SAMPLES)]
    frames = [Frame.from_image(p, 1 + 2 * i, i * 0.2) for i, p in enumerate(pictures)]
    reference = reference_features(scenes.reference(WIDTH, HEIGHT))
    latest, previous = frames[-1].luma, frames[-2].luma
    expected = StreamExpectation(WIDTH, HEIGHT, FPS)

    per_frame = {
        "grey + resize to 160x90 (shrink)": lambda: shrink(pictures[0]),
        "black share": lambda: black_share(latest, thresholds),
        "frozen: cell change vs previous": lambda: cell_changes(previous, latest),
    }
    per_check = {
        "covered: contrast + edge share": lambda: (float(latest.std()), edge_share(latest)),
        "blurred: sharpness": lambda: sharpness(latest),
        "view: similarity to reference": lambda: view_similarity(latest, reference.luma, 2),
        "reference_features (full frame)": lambda: reference_features(pictures[0]),
        "thumbnail_jpeg 320 wide": lambda: thumbnail_jpeg(pictures[0]),
    }
    print(f"frame {WIDTH}x{HEIGHT}, {SAMPLES} analysed frames per check, 1 OpenCV thread\n")
    print("per analysed frame")
    frame_total = 0.0
    for name, fn in per_frame.items():
        cost = per_call_us(fn, repeat)
        frame_total += cost
        print(f"  {name:38s} {cost:8.1f} µs")
    print(f"  {'sum per frame':38s} {frame_total:8.1f} µs")
    print("\nonce per check (on the latest frame)")
    for name, fn in per_check.items():
        print(f"  {name:38s} {per_call_us(fn, repeat):8.1f} µs")
    whole = per_call_us(lambda: analyse(frames, expected, reference, thresholds), repeat)
    build = per_call_us(lambda: [Frame.from_image(p) for p in pictures], repeat)
    print("\nwhole check")
    print(f"  {'shrink all frames':38s} {build:8.1f} µs")
    print(f"  {'analyse() on shrunk frames':38s} {whole:8.1f} µs")
    total = build + whole
    print(f"  {'total per check':38s} {total:8.1f} µs = {total / SAMPLES:.1f} µs per frame")


if __name__ == "__main__":
    main()
