"""The raw RTSP DESCRIBE probe against the simulated cameras and against hostile servers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from health.rtsp_probe import authorization, probe_stream
from health.status import Status
from sim.rtsp.auth import DigestAuth
from sim.rtsp.background import serve_in_thread
from sim.rtsp.server import RtspServer
from sim.spec import SUB, CameraSpec

PASSWORD = "pr0be-S3cret"
FEEDS = ("live", "hang", "unauthorized", "not_found", "refused")


def camera(index: int, feed: str) -> CameraSpec:
    return CameraSpec(
        site="PRB-01-0001",
        name=f"cam{index}",
        feed=feed,
        host=f"127.0.23.{index + 1}",
        rtsp_port=8554,
        onvif_port=8080,
        username="admin",
        password=PASSWORD,
        streams=(SUB,),
    )


CAMERAS = {feed: camera(i, feed) for i, feed in enumerate(FEEDS)}


@pytest.fixture(scope="module")
def server() -> Iterator[RtspServer]:
    with serve_in_thread(list(CAMERAS.values())) as running:
        yield running


def url(server: RtspServer, feed: str) -> str:
    return server.url(CAMERAS[feed], "sub")


def test_live_stream_describes_video(server: RtspServer) -> None:
    result = probe_stream(url(server, "live"), "admin", PASSWORD, 2.0)
    assert (result.status, result.code, result.rtsp_status) == (Status.OK, "ok", 200)


def test_wrong_password_is_auth_failed(server: RtspServer) -> None:
    result = probe_stream(url(server, "live"), "admin", "wrong", 2.0)
    assert (result.status, result.code, result.rtsp_status) == (
        Status.AUTH_FAILED,
        "auth_failed",
        401,
    )
    assert "rejected the credentials" in result.message


def test_missing_credentials_are_auth_failed(server: RtspServer) -> None:
    result = probe_stream(url(server, "live"), None, None, 2.0)
    assert result.status is Status.AUTH_FAILED
    assert "none are stored" in result.message


def test_camera_refusing_everyone_is_auth_failed(server: RtspServer) -> None:
    result = probe_stream(url(server, "unauthorized"), "admin", PASSWORD, 2.0)
    assert result.status is Status.AUTH_FAILED


def test_unknown_path_is_not_found(server: RtspServer) -> None:
    result = probe_stream(url(server, "not_found"), "admin", PASSWORD, 2.0)
    assert (result.status, result.code, result.rtsp_status) == (Status.NOT_FOUND, "not_found", 404)
    wrong_path = url(server, "live").replace("/sub", "/nope")
    assert probe_stream(wrong_path, "admin", PASSWORD, 2.0).status is Status.NOT_FOUND


def test_refused_port_is_unreachable(server: RtspServer) -> None:
    result = probe_stream(url(server, "refused"), "admin", PASSWORD, 2.0)
    assert (result.status, result.code) == (Status.UNREACHABLE, "refused")


def test_silent_server_times_out_within_the_limit(server: RtspServer) -> None:
    started = time.monotonic()
    result = probe_stream(url(server, "hang"), "admin", PASSWORD, 0.5)
    assert (result.status, result.code) == (Status.UNREACHABLE, "timeout")
    assert time.monotonic() - started < 1.0


def test_password_never_in_messages(server: RtspServer) -> None:
    creds_url = url(server, "live").replace("rtsp://", f"rtsp://admin:{PASSWORD}@")
    for feed in FEEDS:
        for uri in (url(server, feed), creds_url):
            result = probe_stream(uri, "admin", PASSWORD, 0.3)
            assert PASSWORD not in repr(result)


def test_bad_uri_is_reported() -> None:
    result = probe_stream("http://127.0.23.30/x", None, None, 0.5)
    assert (result.status, result.code) == (Status.NOT_FOUND, "bad_uri")


@pytest.mark.parametrize("qop", [False, True])
def test_digest_answer_is_accepted_by_a_camera_style_checker(qop: bool) -> None:
    auth = DigestAuth()
    challenge = {"realm": auth.realm, "nonce": auth.new_nonce(), "algorithm": "MD5"}
    if qop:
        challenge["qop"] = "auth"
    uri = "rtsp://127.0.23.1:8554/a/b"
    header = authorization("digest", challenge, "DESCRIBE", uri, "admin", "p@ss:w/rd")
    assert auth.check("DESCRIBE", header, "admin", "p@ss:w/rd")
    assert not auth.check("DESCRIBE", header, "admin", "other")
    basic = authorization("basic", {}, "DESCRIBE", uri, "admin", "p@ss:w/rd")
    assert auth.check("DESCRIBE", basic, "admin", "p@ss:w/rd")


# --- hostile or broken servers, one connection each ---------------------------------------------


@contextmanager
def one_shot_server(host: str, reply: Callable[[socket.socket], None]) -> Iterator[str]:
    """Serve one connection on host with a scripted reply; yield the stream URL."""
    listener = socket.create_server((host, 0))
    port = listener.getsockname()[1]

    def run() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(2.0)
            try:
                conn.recv(4096)
                reply(conn)
            except OSError:
                pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"rtsp://{host}:{port}/stream"
    finally:
        listener.close()
        thread.join(timeout=5)


def send(data: bytes, linger: float = 0.0) -> Callable[[socket.socket], None]:
    def reply(conn: socket.socket) -> None:
        conn.sendall(data)
        time.sleep(linger)

    return reply


def rtsp_reply(status: str, body: bytes = b"", extra: str = "") -> bytes:
    head = f"RTSP/1.0 {status}\r\nCSeq: 1\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        (send(b"HTTP/1.1 200 OK\r\n\r\n"), Status.NO_VIDEO, "protocol_error"),
        (send(b"RTSP/1.0 200 OK\r\n" + b"X: y\r\n" * 4000), Status.NO_VIDEO, "protocol_error"),
        (
            send(rtsp_reply("200 OK", extra="Content-Length: 999999999\r\n")),
            Status.NO_VIDEO,
            "protocol_error",
        ),
        (send(b""), Status.UNREACHABLE, "closed"),
        (send(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n", linger=1.0), Status.UNREACHABLE, "timeout"),
        (
            send(rtsp_reply("200 OK", b"v=0\r\nm=audio 0 RTP/AVP 0\r\n")),
            Status.NO_VIDEO,
            "no_video_track",
        ),
        (send(rtsp_reply("503 Service Unavailable")), Status.NO_VIDEO, "rtsp_503"),
        (send(rtsp_reply("403 Forbidden")), Status.AUTH_FAILED, "auth_failed"),
        (
            send(rtsp_reply("401 Unauthorized", extra="WWW-Authenticate: Bogus x\r\n")),
            Status.AUTH_FAILED,
            "auth_failed",
        ),
    ],
)
def test_broken_servers_are_classified_in_bounded_time(
    script: Callable[[socket.socket], None], status: Status, code: str
) -> None:
    with one_shot_server("127.0.23.31", script) as stream:
        started = time.monotonic()
        result = probe_stream(stream, "admin", PASSWORD, 0.6)
        elapsed = time.monotonic() - started
    assert (result.status, result.code) == (status, code), result
    assert elapsed < 1.0


def test_port_that_never_accepts_times_out_on_connect() -> None:
    # A listener that never accepts, with its queue full, drops new SYNs: like a dead host.
    listener = socket.socket()
    listener.bind(("127.0.23.32", 0))
    listener.listen(0)
    host, port = listener.getsockname()
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((host, port))
            fillers.append(filler)
        time.sleep(0.1)
        started = time.monotonic()
        result = probe_stream(f"rtsp://{host}:{port}/x", None, None, 0.5)
        elapsed = time.monotonic() - started
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    assert (result.status, result.code) == (Status.UNREACHABLE, "timeout"), result
    assert "did not accept a connection" in result.message
    assert elapsed < 1.0
