"""Serve one RTSP client connection: requests, authentication, feed faults, streaming."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sim.clips import picture_kind
from sim.rtsp.auth import DigestAuth
from sim.rtsp.messages import (
    MAX_BODY_BYTES,
    Request,
    RequestError,
    format_response,
    parse_head,
    redact_url,
)
from sim.rtsp.rtp import PacketizedClip
from sim.rtsp.sdp import TRACK_CONTROL, build_sdp
from sim.rtsp.sender import RtpSender
from sim.spec import CameraSpec, StreamSpec

log = logging.getLogger("sim.rtsp")

PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
SESSION_TIMEOUT_S = 60


@dataclass(frozen=True)
class ServerContext:
    """What every connection of one server shares."""

    auth: DigestAuth
    packets: Mapping[tuple[str, str], PacketizedClip]  # (picture kind, stream token)
    max_buffer: int


def resolve(
    cameras: Mapping[str, CameraSpec], path: str
) -> tuple[CameraSpec | None, StreamSpec | None]:
    """Return the camera and stream a request path names (either may be None)."""
    path = path.rstrip("/")
    if path.endswith("/" + TRACK_CONTROL):
        path = path[: -len(TRACK_CONTROL) - 1]
    prefix, _, token = path.rpartition("/")
    camera = cameras.get(prefix) or cameras.get(path)
    if camera is None:
        return None, None
    stream = next((s for s in camera.streams if s.token == token), None)
    return camera, stream


def _interleaved(transport: str) -> int | None:
    """Return the first interleaved RTP channel of a TCP transport spec, None if not TCP."""
    for spec in transport.split(","):
        fields = [f.strip() for f in spec.split(";")]
        if fields[0].upper() not in ("RTP/AVP/TCP", "RTP/AVP/TCP/UNICAST"):
            continue
        for item in fields[1:]:
            name, _, value = item.partition("=")
            if name.lower() == "interleaved":
                first = value.split("-")[0]
                return int(first) if first.isdigit() and int(first) < 255 else 0
        return 0
    return None


class RtspConnection:
    """One client connection to one simulated host."""

    def __init__(
        self,
        context: ServerContext,
        cameras: Mapping[str, CameraSpec],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Bind a connection to the cameras of the host it reached."""
        self._ctx = context
        self._cameras = cameras
        self._reader = reader
        self._writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "?"
        # A host whose only cameras hang never answers, whatever arrives.
        self._silent = bool(cameras) and all(c.feed == "hang" for c in cameras.values())
        self._session_id = ""
        self._camera: CameraSpec | None = None
        self._stream: StreamSpec | None = None
        self._channel = 0
        self._ssrc = secrets.randbits(32)
        self._sender: RtpSender | None = None
        self._closing = False

    async def run(self) -> None:
        """Answer requests until the client leaves, tears down or misbehaves."""
        try:
            while not self._closing:
                if self._silent:
                    await self._swallow()
                    return
                request = await self._read_request()
                if request is None:
                    return
                self._handle(request)
        except RequestError as exc:
            log.info("rtsp %s: bad request (%s)", self.peer, exc)
            if not self._silent:
                self._writer.write(format_response(400, None))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Stop streaming and close the connection."""
        self._closing = True
        if self._sender is not None:
            self._sender.stop()
        if not self._writer.is_closing():
            self._writer.close()

    def abort(self) -> None:
        """Drop the connection at once, discarding unsent data."""
        self._closing = True
        if self._sender is not None:
            self._sender.stop()
        self._writer.transport.abort()

    async def _swallow(self) -> None:
        """Read and discard everything until the client gives up."""
        while await self._reader.read(65536):
            pass

    async def _read_request(self) -> Request | None:
        """Return the next request, skipping interleaved RTCP from the client; None at EOF."""
        reader = self._reader
        while True:
            first = await reader.read(1)
            if not first:
                return None
            if first == b"$":
                header = await reader.readexactly(3)
                await reader.readexactly(int.from_bytes(header[1:3], "big"))
                continue
            if first in b"\r\n":
                continue
            head = first + await reader.readuntil(b"\r\n\r\n")
            request = parse_head(head)
            length = request.content_length
            if length > MAX_BODY_BYTES:
                raise RequestError("body too large")
            if length:
                body = await reader.readexactly(length)
                request = Request(
                    request.method, request.url, request.version, request.headers, body
                )
            return request

    def _reply(
        self,
        request: Request,
        status: int,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Write a response and log it without credentials."""
        log.debug("rtsp %s %s %s -> %d", self.peer, request.method, redact_url(request.url), status)
        self._writer.write(format_response(status, request.cseq, headers, body))

    def _handle(self, request: Request) -> None:
        """Answer one request according to the camera's feed kind."""
        if self._silent:
            return
        if request.cseq is None:
            self._reply(request, 400)
            return
        camera, stream = resolve(self._cameras, request.path)
        if camera is None and self._session_matches(request):
            camera, stream = self._camera, self._stream
        if camera is not None and camera.feed == "hang":
            self._silent = True
            return
        if camera is not None and camera.feed == "unauthorized":
            self._reply(request, 401, {"WWW-Authenticate": self._ctx.auth.challenge()})
            return
        if request.method == "OPTIONS":
            self._reply(request, 200, {"Public": PUBLIC})
            return
        if camera is None:
            self._reply(request, 404)
            return
        auth = self._ctx.auth
        authorization = request.headers.get("authorization")
        if not auth.check(request.method, authorization, camera.username, camera.password):
            if authorization:
                log.info("rtsp %s: wrong credentials for %s", self.peer, camera.path)
            self._reply(request, 401, {"WWW-Authenticate": auth.challenge()})
            return
        if camera.feed == "not_found" or stream is None:
            self._reply(request, 404)
            return
        handler = {
            "DESCRIBE": self._describe,
            "SETUP": self._setup,
            "PLAY": self._play,
            "PAUSE": self._pause,
            "TEARDOWN": self._teardown,
            "GET_PARAMETER": self._keepalive,
            "SET_PARAMETER": self._keepalive,
        }.get(request.method)
        if handler is None:
            self._reply(request, 501)
            return
        handler(request, camera, stream)

    def _session_matches(self, request: Request) -> bool:
        """Tell whether a request names this connection's session."""
        sent = request.headers.get("session", "").split(";")[0].strip()
        return bool(self._session_id) and sent == self._session_id

    def _packets(self, camera: CameraSpec, stream: StreamSpec) -> PacketizedClip:
        """Return the shared packets of a camera's stream."""
        return self._ctx.packets[(picture_kind(camera.feed), stream.token)]

    def _describe(self, request: Request, camera: CameraSpec, stream: StreamSpec) -> None:
        """Answer DESCRIBE with the stream's SDP."""
        host = str(self._writer.get_extra_info("sockname", ("0.0.0.0", 0))[0])
        title = f"{camera.site}/{camera.name} {stream.token}"
        sdp = build_sdp(self._packets(camera, stream).clip, host, secrets.randbits(31), title)
        base = request.url.rstrip("/") + "/"
        headers = {"Content-Base": base, "Content-Type": "application/sdp"}
        self._reply(request, 200, headers, sdp.encode())

    def _setup(self, request: Request, camera: CameraSpec, stream: StreamSpec) -> None:
        """Answer SETUP: interleaved TCP only; UDP requests get 461 so clients fall back."""
        if self._session_id and not self._session_matches(request):
            self._reply(request, 454)
            return
        channel = _interleaved(request.headers.get("transport", ""))
        if channel is None:
            self._reply(request, 461)
            return
        if self._sender is not None:
            self._sender.stop()
            self._sender = None
        self._session_id = self._session_id or secrets.token_hex(8).upper()
        self._camera, self._stream, self._channel = camera, stream, channel
        transport = (
            f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1};"
            f'ssrc={self._ssrc:08X};mode="PLAY"'
        )
        session = f"{self._session_id};timeout={SESSION_TIMEOUT_S}"
        self._reply(request, 200, {"Transport": transport, "Session": session})

    def _play(self, request: Request, camera: CameraSpec, stream: StreamSpec) -> None:
        """Answer PLAY, then start (or resume) streaming."""
        if not self._session_matches(request):
            self._reply(request, 454)
            return
        if self._camera is not camera or self._stream is not stream:
            self._reply(request, 455)
            return
        sender = self._sender
        if sender is None:
            sender = RtpSender(
                self._writer.transport,
                self._packets(camera, stream),
                channel=self._channel,
                seq=secrets.randbits(16),
                ts_base=secrets.randbits(32),
                ssrc=self._ssrc,
                max_buffer=self._ctx.max_buffer,
                stall_after_s=camera.stall_after_s if camera.feed == "stall" else None,
                on_drop=self._on_drop,
                on_stall=self._on_stall,
            )
            self._sender = sender
        if sender.running:
            self._reply(request, 200, {"Session": self._session_id})
            return
        track = request.url.rstrip("/") + "/" + TRACK_CONTROL
        headers = {
            "Session": self._session_id,
            "Range": "npt=0.000-",
            "RTP-Info": f"url={track};seq={sender.seq};rtptime={sender.first_timestamp}",
        }
        self._reply(request, 200, headers)
        log.debug("rtsp %s: streaming %s/%s", self.peer, camera.path, stream.token)
        sender.start()

    def _pause(self, request: Request, camera: CameraSpec, stream: StreamSpec) -> None:
        """Answer PAUSE and stop sending until the next PLAY."""
        if not self._session_matches(request):
            self._reply(request, 454)
            return
        if self._sender is not None:
            self._sender.stop()
        self._reply(request, 200, {"Session": self._session_id})

    def _teardown(self, request: Request, camera: CameraSpec, stream: StreamSpec) -> None:
        """Answer TEARDOWN and close the connection."""
        if self._sender is not None:
            self._sender.stop()
        self._reply(request, 200, {"Session": self._session_id} if self._session_id else None)
        self._closing = True

    def _keepalive(self, request: Request, camera: CameraSpec, stream: StreamSpec) -> None:
        """Answer GET_PARAMETER / SET_PARAMETER keepalives."""
        self._reply(request, 200, {"Session": self._session_id} if self._session_id else None)

    def _on_drop(self) -> None:
        """Drop a client that cannot keep up."""
        log.warning("rtsp %s: client too slow, dropping it", self.peer)
        self.abort()

    def _on_stall(self) -> None:
        """Go quiet: no more data and no more answers, the connection stays open."""
        log.info("rtsp %s: stall feed stops sending", self.peer)
        self._silent = True
