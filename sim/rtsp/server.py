"""Serve every simulated camera's RTSP streams from shared pre-encoded clips."""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from collections.abc import Sequence

from sim.clips import DEFAULT_DURATION_S, load_clips, picture_kind
from sim.rtsp.auth import DigestAuth
from sim.rtsp.connection import RtspConnection, ServerContext
from sim.rtsp.messages import MAX_HEAD_BYTES
from sim.rtsp.rtp import PacketizedClip
from sim.spec import CameraSpec

log = logging.getLogger("sim.rtsp")

# Unsent bytes a client may lag by before it is dropped (seconds of the main stream).
DEFAULT_MAX_BUFFER = 2 * 1024 * 1024
# A fixed kernel send buffer per client: loopback autotuning would let a client that stopped
# reading hide megabytes in the kernel before the server ever notices it lagging.
SEND_BUFFER = 256 * 1024


class RtspServer:
    """RTSP 1.0 server (RTP/AVP/TCP interleaved) for a set of simulated cameras.

    One listener per distinct (host, port); a host carrying a camera whose feed is
    "refused" gets no listener, so connections to it are refused.
    """

    def __init__(
        self,
        cameras: Sequence[CameraSpec],
        *,
        port_override: int | None = None,
        clip_duration_s: int = DEFAULT_DURATION_S,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        """Prepare a server; nothing is bound before start()."""
        self.cameras = tuple(cameras)
        self._port_override = port_override
        self._clip_duration_s = clip_duration_s
        self._max_buffer = max_buffer
        self._servers: list[asyncio.Server] = []
        self._connections: set[RtspConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def port(self, camera: CameraSpec) -> int:
        """Return the port a camera is served on."""
        return self._port_override if self._port_override is not None else camera.rtsp_port

    def url(self, camera: CameraSpec, token: str) -> str:
        """Return the credential-free URL of a camera's stream as this server serves it."""
        return f"rtsp://{camera.host}:{self.port(camera)}{camera.path}/{token}"

    @property
    def connection_count(self) -> int:
        """Return how many client connections are open."""
        return len(self._connections)

    def _listeners(self) -> dict[tuple[str, int], dict[str, CameraSpec]]:
        """Return the cameras by path of every (host, port) that gets a listener."""
        refused = {c.host for c in self.cameras if c.feed == "refused"}
        listeners: dict[tuple[str, int], dict[str, CameraSpec]] = {}
        for camera in self.cameras:
            if camera.host in refused:
                if camera.feed != "refused":
                    log.warning("rtsp: %s shares a refused host; it is refused too", camera.path)
                continue
            listeners.setdefault((camera.host, self.port(camera)), {})[camera.path] = camera
        return listeners

    async def start(self) -> None:
        """Encode or load the clips the cameras need, then bind every listener."""
        served = [c for c in self.cameras if c.feed != "refused"]
        kinds = {picture_kind(c.feed) for c in served}
        streams = {s for c in served for s in c.streams}
        clips = await asyncio.to_thread(load_clips, kinds, streams, self._clip_duration_s)
        packets = {
            (kind, stream.token): PacketizedClip.build(clip)
            for (kind, stream), clip in clips.items()
        }
        context = ServerContext(DigestAuth(), packets, self._max_buffer)
        try:
            for (host, port), cameras in self._listeners().items():
                server = await asyncio.start_server(
                    functools.partial(self._serve, context, cameras),
                    host,
                    port,
                    limit=MAX_HEAD_BYTES,
                    reuse_address=True,
                    backlog=512,
                )
                self._servers.append(server)
        except OSError:
            await self.stop()
            raise
        log.info("rtsp: serving %d cameras on %d listeners", len(served), len(self._servers))

    async def _serve(
        self,
        context: ServerContext,
        cameras: dict[str, CameraSpec],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Run one client connection to completion."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        connection = RtspConnection(context, cameras, reader, writer)
        task = asyncio.current_task()
        self._connections.add(connection)
        if task is not None:
            self._tasks.add(task)
        try:
            await connection.run()
        except asyncio.CancelledError:
            # Python 3.11's start_server callback calls task.exception() on a cancelled
            # handler and logs a spurious error; the server owns these tasks, so end quietly.
            pass
        finally:
            self._connections.discard(connection)
            if task is not None:
                self._tasks.discard(task)

    async def stop(self) -> None:
        """Close every listener and client connection."""
        for server in self._servers:
            server.close()
        for connection in list(self._connections):
            connection.abort()
        # Aborted transports end their handlers at once; cancel any that linger.
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
