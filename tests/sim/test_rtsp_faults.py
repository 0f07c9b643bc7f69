"""Transport faults of simulated cameras, as OpenCV, PyAV and a raw RTSP client see them."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import av
import cv2
import pytest

from sim.rtsp.background import free_port, serve_in_thread
from sim.rtsp.client import MediaStats, RtspClient
from sim.rtsp.server import RtspServer
from sim.spec import MAIN, SUB, CameraSpec

PASSWORD = "f4ult-pw"
STALL_AFTER_S = 1.0
AV_TCP = {"rtsp_transport": "tcp", "analyzeduration": "100000"}
CV_PARAMS = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 2000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 2000]
FEEDS = ("live", "stall", "hang", "unauthorized", "not_found", "refused")


@pytest.fixture(scope="module")
def server() -> Iterator[RtspServer]:
    port = free_port("127.0.21.60")
    cameras = [
        CameraSpec(
            "T-F",
            f"cam-{feed}",
            feed,
            f"127.0.21.{60 + i}",
            port,
            80,
            "admin",
            PASSWORD,
            stall_after_s=STALL_AFTER_S,
            streams=(SUB,),
        )
        for i, feed in enumerate(FEEDS)
    ]
    with serve_in_thread(cameras) as running:
        yield running


@pytest.fixture(autouse=True)
def _cv_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp|analyzeduration;100000")


def cam(server: RtspServer, feed: str) -> CameraSpec:
    return next(c for c in server.cameras if c.feed == feed)


def url(server: RtspServer, feed: str, password: str = PASSWORD, token: str = "sub") -> str:
    camera = cam(server, feed)
    return server.url(camera, token).replace("rtsp://", f"rtsp://admin:{password}@")


def test_unauthorized_refuses_the_right_password(server: RtspServer) -> None:
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(url(server, "unauthorized"), options=AV_TCP, timeout=3)
    assert not cv2.VideoCapture(url(server, "unauthorized"), cv2.CAP_FFMPEG, CV_PARAMS).isOpened()


def test_unauthorized_answers_401_to_everything(server: RtspServer) -> None:
    async def run() -> list[int]:
        camera = cam(server, "unauthorized")
        client = await RtspClient.connect(camera.host, server.port(camera))
        client.set_credentials("admin", PASSWORD)
        statuses = [
            (await client.request(method, server.url(camera, "sub"))).status
            for method in ("OPTIONS", "DESCRIBE", "GET_PARAMETER")
        ]
        await client.close()
        return statuses

    assert asyncio.run(run()) == [401, 401, 401]


def test_not_found_answers_404(server: RtspServer) -> None:
    with pytest.raises(av.error.HTTPNotFoundError):
        av.open(url(server, "not_found"), options=AV_TCP, timeout=3)


@pytest.mark.parametrize("path", ["/T-F/cam-live/third", "/T-F/nobody/sub", "/", "/T-F/cam-live"])
def test_unknown_paths_answer_404(server: RtspServer, path: str) -> None:
    camera = cam(server, "live")
    target = f"rtsp://admin:{PASSWORD}@{camera.host}:{server.port(camera)}{path}"
    with pytest.raises(av.error.HTTPNotFoundError):
        av.open(target, options=AV_TCP, timeout=3)


def test_main_stream_of_a_sub_only_camera_is_not_found(server: RtspServer) -> None:
    assert MAIN not in cam(server, "live").streams
    with pytest.raises(av.error.HTTPNotFoundError):
        av.open(url(server, "live", token="main"), options=AV_TCP, timeout=3)


def test_refused_host_has_no_listener(server: RtspServer) -> None:
    camera = cam(server, "refused")
    with pytest.raises(av.error.ConnectionRefusedError):
        av.open(url(server, "refused"), options=AV_TCP, timeout=3)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((camera.host, server.port(camera)), timeout=2).close()


def test_hang_accepts_and_never_answers(server: RtspServer) -> None:
    camera = cam(server, "hang")
    started = time.monotonic()
    capture = cv2.VideoCapture(url(server, "hang"), cv2.CAP_FFMPEG, CV_PARAMS)
    assert not capture.isOpened()
    assert time.monotonic() - started < 4  # the 2 s open timeout, not FFmpeg's 30 s
    with socket.create_connection((camera.host, server.port(camera)), timeout=2) as sock:
        sock.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            sock.recv(100)


def test_hang_times_out_in_pyav(server: RtspServer) -> None:
    started = time.monotonic()
    with pytest.raises(av.error.FFmpegError):
        av.open(url(server, "hang"), options=AV_TCP, timeout=1.5)
    assert time.monotonic() - started < 4


def test_stall_goes_quiet_after_its_delay(server: RtspServer) -> None:
    async def run() -> tuple[int, MediaStats, MediaStats, float, int]:
        camera = cam(server, "stall")
        client = await RtspClient.connect(camera.host, server.port(camera))
        client.set_credentials("admin", PASSWORD)
        played = await client.play(server.url(camera, "sub"))
        started = asyncio.get_running_loop().time()
        before = await client.read_media(STALL_AFTER_S + 0.5)
        after = await client.read_media(1.0)
        waited = asyncio.get_running_loop().time() - started
        # Quiet, not closed: a keepalive gets no answer and the socket stays open.
        await client.send_raw(b"GET_PARAMETER * RTSP/1.0\r\nCSeq: 99\r\n\r\n")
        late = await client.read_media(0.5)
        await client.close()
        return played.status, before, after, waited, late.packets

    status, before, after, waited, late = asyncio.run(run())
    assert status == 200
    assert 8 <= before.frames <= 13  # 10 fps for the stall delay
    assert after.packets == 0
    assert waited >= STALL_AFTER_S + 1.4  # read_media waited: no EOF arrived
    assert late == 0


def test_stall_read_fails_in_opencv(server: RtspServer) -> None:
    capture = cv2.VideoCapture(url(server, "stall"), cv2.CAP_FFMPEG, CV_PARAMS)
    assert capture.isOpened()
    started = time.monotonic()
    arrivals = []
    try:
        while time.monotonic() - started < 15:
            ok, _ = capture.read()
            if not ok:
                break
            arrivals.append(time.monotonic() - started)
    finally:
        capture.release()
    ended = time.monotonic() - started
    assert 8 <= len(arrivals) <= 16
    # OpenCV drains a frame or two from the decoder after each read timeout, then gives up.
    assert sum(1 for t in arrivals if t > STALL_AFTER_S + 0.5) <= 3
    assert ended < 12
