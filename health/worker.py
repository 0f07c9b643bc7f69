"""The checker process's main loop; imports nothing heavy until its environment is set."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from health.memory import MemoryReturn, limit_malloc_arenas, load_libc

# Set before OpenCV is imported: the FFmpeg backend then opens streams without its process
# lock. FFmpeg's own messages may print a stream URL as given, credentials included, so they
# are silenced (AV_LOG_QUIET), and OpenCV's per-open warnings with them; checks report in
# their outcomes. With dozens of checks per process on a few cores, one decoding thread per
# stream is enough, and saves each stream's extra frame buffers.
CHECKER_ENVIRONMENT = {
    "OPENCV_FFMPEG_IS_THREAD_SAFE": "1",
    "OPENCV_FFMPEG_THREADS": "1",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",
    "OPENCV_LOG_LEVEL": "ERROR",
}


def worker_main(conn: Connection, threads: int) -> None:
    """Run checks received on the pipe on a thread pool and send each outcome back."""
    os.environ.update(CHECKER_ENVIRONMENT)
    libc = load_libc()
    limit_malloc_arenas(libc)
    memory = MemoryReturn(libc)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when checks stop
    import cv2.utils.logging

    from health.check import run_check

    # The variable only counts if OpenCV was not imported yet (a spawned child imports the
    # parent's main module first); the call covers that case.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    # Checks already run in parallel on their own threads; OpenCV's own pool only adds
    # hand-offs and spinning workers for these small pictures (about 2 ms CPU per check).
    cv2.setNumThreads(1)

    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        # If the parent is gone, nothing is waiting for this outcome.
        with send_lock, contextlib.suppress(BrokenPipeError, EOFError, OSError):
            conn.send(message)

    def one(key: Any, target: Any, options: Any) -> None:
        outcome = run_check(target, options)
        send(("done", key, outcome))
        memory.trim_if_due()

    send(("ready", os.getpid()))
    with ThreadPoolExecutor(threads, thread_name_prefix="check") as executor:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            key, target, options = message
            executor.submit(one, key, target, options)
