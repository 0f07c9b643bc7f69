"""The simulator's HTTP server refuses malformed, oversized and stalling requests."""

from __future__ import annotations

import asyncio

import pytest

from sim.onvif.http import HttpServer, Limits, Request, Response

HOST = "127.0.22.20"
PORT = 8081


async def _echo(request: Request) -> Response:
    return Response(status=200, body=request.body, content_type="text/plain")


async def _exchange(raw: bytes, *, limits: Limits | None = None) -> bytes:
    server = HttpServer(HOST, PORT, _echo, limits=limits)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection(HOST, PORT)
        writer.write(raw)
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await writer.wait_closed()
        return reply
    finally:
        await server.stop()


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


@pytest.mark.asyncio
async def test_a_plain_request_is_answered_and_the_connection_closed() -> None:
    reply = await _exchange(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert _status(reply) == 200
    assert b"Connection: close" in head
    assert body == b"hello"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
    ],
)
async def test_malformed_requests_get_4xx_or_501(raw: bytes, status: int) -> None:
    assert _status(await _exchange(raw)) == status


@pytest.mark.asyncio
async def test_a_client_that_stalls_is_dropped_after_the_read_timeout() -> None:
    limits = Limits(read_timeout_s=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await _exchange(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", limits=limits)
    assert reply == b""
    assert loop.time() - started < 2
