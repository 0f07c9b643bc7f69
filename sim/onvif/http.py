"""A small, strict HTTP/1.1 server on asyncio streams: one request per connection."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_REQUEST_LINE = re.compile(r"^([A-Z]{1,16}) (\S{1,2048}) HTTP/1\.([01])$")


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request; header names are lower-case."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """Return the request target without its query string."""
        return self.target.split("?", 1)[0]


@dataclass
class Response:
    """An HTTP response: a complete body, or a stream of chunks with a declared length."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Callable[[], AsyncIterator[bytes]] | None = None
    stream_length: int = 0


# A handler returning None closes the connection without a reply.
Handler = Callable[[Request], Awaitable[Response | None]]


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a misbehaving client from holding or exhausting the server."""

    max_head_bytes: int = 16 * 1024
    max_body_bytes: int = 1024 * 1024
    read_timeout_s: float = 10.0
    write_timeout_s: float = 30.0


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def plain_response(status: int, text: str = "") -> Response:
    """Return a short text/plain response."""
    body = (text or HTTPStatus(status).phrase).encode("utf-8") + b"\n"
    return Response(status=status, body=body, content_type="text/plain; charset=utf-8")


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError as exc:
        raise _BadRequest(400, "non-ASCII request head") from exc
    lines = text[:-4].split("\r\n")
    match = _REQUEST_LINE.match(lines[0])
    if match is None:
        raise _BadRequest(400, "malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.match(name):
            raise _BadRequest(400, "malformed header line")
        key = name.lower()
        value = value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return match.group(1), match.group(2), headers


def _content_length(headers: dict[str, str], limit: int) -> int:
    if "transfer-encoding" in headers:
        raise _BadRequest(501, "chunked request bodies are not supported")
    raw = headers.get("content-length")
    if raw is None:
        return 0
    if not raw.isdigit() or len(raw) > 12:
        raise _BadRequest(400, "invalid Content-Length")
    length = int(raw)
    if length > limit:
        raise _BadRequest(413, "request body too large")
    return length


class HttpServer:
    """Serve one handler on one host and port; every response closes the connection."""

    def __init__(
        self, host: str, port: int, handler: Handler, *, limits: Limits | None = None
    ) -> None:
        self.host = host
        self.port = port
        self._handler = handler
        self._limits = limits or Limits()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(
            self._serve,
            self.host,
            self.port,
            limit=self._limits.max_head_bytes,
            reuse_address=True,
        )

    async def stop(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            response = await self._respond(reader)
            if response is not None:
                await self._write(writer, response)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels these tasks. Python 3.11's start_server callback calls
            # task.exception() on them, which logs a spurious error for a cancelled task,
            # so the cancellation ends here and the task finishes normally.
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _respond(self, reader: asyncio.StreamReader) -> Response | None:
        limits = self._limits
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), limits.read_timeout_s)
            except asyncio.LimitOverrunError as exc:
                raise _BadRequest(431, "request head too large") from exc
            except asyncio.IncompleteReadError:
                return None
            method, target, headers = _parse_head(head)
            length = _content_length(headers, limits.max_body_bytes)
            body = await asyncio.wait_for(reader.readexactly(length), limits.read_timeout_s)
        except _BadRequest as exc:
            return plain_response(exc.status, str(exc))
        return await self._handler(Request(method, target, headers, body))

    async def _write(self, writer: asyncio.StreamWriter, response: Response) -> None:
        length = response.stream_length if response.stream is not None else len(response.body)
        lines = [
            f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}",
            f"Date: {formatdate(usegmt=True)}",
            "Server: Camsim-httpd",
            "Connection: close",
            f"Content-Length: {length}",
        ]
        if response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        timeout = self._limits.write_timeout_s
        if response.stream is not None:
            # Each drain is bounded, not the whole stream: a trickled reply is meant to be slow.
            async for chunk in response.stream():
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), timeout)
        else:
            writer.write(response.body)
        await asyncio.wait_for(writer.drain(), timeout)
