"""Run an RtspServer on its own event loop in a background thread (tests, tools)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sim.rtsp.server import RtspServer
from sim.spec import CameraSpec


@contextmanager
def serve_in_thread(cameras: Sequence[CameraSpec], **options: Any) -> Iterator[RtspServer]:
    """Start an RtspServer in a daemon thread, yield it, and stop it on exit."""
    loop = asyncio.new_event_loop()
    server = RtspServer(cameras, **options)
    thread = threading.Thread(target=loop.run_forever, name="rtsp-server", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=300)
        yield server
    finally:
        try:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on a host address right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
