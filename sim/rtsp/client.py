"""A small asyncio RTSP client for tests and benchmarks: handshake, Digest auth, RTP counting."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import struct
from dataclasses import dataclass, field

from sim.rtsp.auth import parse_digest


@dataclass(frozen=True)
class Response:
    """One RTSP response."""

    status: int
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class MediaStats:
    """What a client received while reading interleaved RTP."""

    packets: int = 0
    frames: int = 0  # packets with the marker bit: one per access unit
    payload_bytes: int = 0
    seq_gaps: int = 0
    timestamps: list[int] = field(default_factory=list)  # RTP timestamp of each frame


def _md5(text: str) -> str:
    """Return the hex MD5 of a string."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_authorization(
    challenge: str, method: str, uri: str, username: str, password: str
) -> str:
    """Return an Authorization header answering a Digest challenge (no qop)."""
    params = parse_digest(challenge.partition(" ")[2])
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    ha1 = _md5(f"{username}:{realm}:{password}")
    response = _md5(f"{ha1}:{nonce}:{_md5(f'{method}:{uri}')}")
    return (
        f'Digest username="{username}", realm="{realm}", nonce="{nonce}", '
        f'uri="{uri}", response="{response}"'
    )


class RtspClient:
    """One RTSP connection over TCP."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Wrap an open connection."""
        self._reader = reader
        self._writer = writer
        self._cseq = 0
        self._authorization: tuple[str, str, str] | None = None  # challenge, user, password
        self.session = ""
        self._buffer = b""

    @classmethod
    async def connect(cls, host: str, port: int) -> RtspClient:
        """Open a connection."""
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    async def close(self) -> None:
        """Close the connection."""
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    def set_credentials(self, username: str, password: str) -> None:
        """Answer Digest challenges with these credentials from now on."""
        self._authorization = ("", username, password)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are."""
        self._writer.write(data)
        await self._writer.drain()

    async def request(
        self, method: str, url: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Send a request, answering one Digest challenge if credentials are set."""
        response = await self._exchange(method, url, headers)
        if response.status == 401 and self._authorization is not None:
            _, user, password = self._authorization
            self._authorization = (response.headers.get("www-authenticate", ""), user, password)
            response = await self._exchange(method, url, headers)
        return response

    async def _exchange(self, method: str, url: str, headers: dict[str, str] | None) -> Response:
        """Send one request and read its response."""
        self._cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self._cseq}", "User-Agent: camsim-client"]
        if self.session:
            lines.append(f"Session: {self.session}")
        if self._authorization is not None and self._authorization[0]:
            challenge, user, password = self._authorization
            lines.append(
                "Authorization: " + digest_authorization(challenge, method, url, user, password)
            )
        lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return await self.read_response()

    async def read_response(self) -> Response:
        """Read the next response, skipping interleaved packets before it."""
        while True:
            first = await self._reader.readexactly(1)
            if first == b"$":
                header = await self._reader.readexactly(3)
                await self._reader.readexactly(int.from_bytes(header[1:3], "big"))
                continue
            head = first + await self._reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = await self._reader.readexactly(length) if length else b""
            return Response(status, headers, body)

    async def play(self, url: str) -> Response:
        """Run DESCRIBE, SETUP (interleaved TCP) and PLAY; return the PLAY response."""
        described = await self.request("DESCRIBE", url, {"Accept": "application/sdp"})
        if described.status != 200:
            return described
        base = described.headers.get("content-base", url.rstrip("/") + "/")
        setup = await self.request(
            "SETUP", base + "trackID=0", {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}
        )
        if setup.status != 200:
            return setup
        self.session = setup.headers.get("session", "").split(";")[0]
        return await self.request("PLAY", base, {"Range": "npt=0.000-"})

    async def read_media(self, seconds: float, stats: MediaStats | None = None) -> MediaStats:
        """Read interleaved RTP for a while (or until EOF) and count what arrives."""
        stats = stats or MediaStats()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        buffer = self._buffer
        last_seq: int | None = None
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                chunk = await asyncio.wait_for(self._reader.read(1 << 16), remaining)
            except TimeoutError:
                break
            if not chunk:
                break
            buffer += chunk
            offset = 0
            while len(buffer) - offset >= 4:
                if buffer[offset] != 0x24:  # a response to a keepalive, or junk: stop counting
                    raise ValueError("unexpected non-RTP data on the media channel")
                length = (buffer[offset + 2] << 8) | buffer[offset + 3]
                if len(buffer) - offset < 4 + length:
                    break
                if buffer[offset + 1] % 2 == 0 and length >= 12:
                    seq, ts = struct.unpack_from(">HI", buffer, offset + 6)
                    if last_seq is not None and seq != (last_seq + 1) & 0xFFFF:
                        stats.seq_gaps += 1
                    last_seq = seq
                    stats.packets += 1
                    stats.payload_bytes += length - 12
                    if buffer[offset + 5] & 0x80:
                        stats.frames += 1
                        stats.timestamps.append(ts)
                offset += 4 + length
            buffer = buffer[offset:]
        self._buffer = buffer
        return stats
