"""The RTSP server against real clients: OpenCV and PyAV over loopback, decoding real H.264."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import av
import cv2
import numpy as np
import pytest

from sim import scenes
from sim.rtsp.background import free_port, serve_in_thread
from sim.rtsp.client import RtspClient
from sim.rtsp.server import RtspServer
from sim.spec import SUB, CameraSpec

PASSWORD = "Zx9-secret-pw"
CV_OPTIONS = "rtsp_transport;tcp|analyzeduration;100000"
AV_TCP = {"rtsp_transport": "tcp", "analyzeduration": "100000"}
CV_PARAMS = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 3000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 3000]
KIND_HOSTS = {kind: f"127.0.21.{10 + i}" for i, kind in enumerate(scenes.KINDS)}


def camera(kind: str, host: str, port: int, **extra: object) -> CameraSpec:
    """Return a camera of one feed kind."""
    return CameraSpec("T-01", f"cam-{kind}", kind, host, port, 80, "admin", PASSWORD, **extra)  # type: ignore[arg-type]


def cred_url(server: RtspServer, cam: CameraSpec, token: str, password: str = PASSWORD) -> str:
    """Return the stream URL with credentials in it."""
    return server.url(cam, token).replace("rtsp://", f"rtsp://{cam.username}:{password}@")


@pytest.fixture(scope="module")
def server() -> Iterator[RtspServer]:
    port = free_port("127.0.21.10")
    cameras = [camera(kind, host, port) for kind, host in KIND_HOSTS.items()]
    with serve_in_thread(cameras) as running:
        yield running


@pytest.fixture(autouse=True)
def _cv_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", CV_OPTIONS)


def by_kind(server: RtspServer, kind: str) -> CameraSpec:
    return next(c for c in server.cameras if c.feed == kind)


def read_cv(url: str, count: int) -> list[np.ndarray]:
    """Open a stream with OpenCV and return `count` decoded frames."""
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, CV_PARAMS)
    try:
        assert cap.isOpened()
        frames = []
        for _ in range(count):
            ok, frame = cap.read()
            assert ok
            frames.append(frame)
        return frames
    finally:
        cap.release()


@pytest.fixture(scope="module")
def sub_frames(server: RtspServer) -> dict[str, list[np.ndarray]]:
    """Read 16 sub-stream frames (more than a second, so the clock ticks) of every kind."""
    os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", CV_OPTIONS)
    urls = {kind: cred_url(server, by_kind(server, kind), "sub") for kind in scenes.KINDS}
    with ThreadPoolExecutor(max_workers=3) as pool:
        frames = dict(zip(urls, pool.map(lambda u: read_cv(u, 16), urls.values()), strict=True))
    return frames


def grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)


def small(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(grey(frame), (160, 90), interpolation=cv2.INTER_AREA)


def consecutive_diffs(frames: list[np.ndarray]) -> list[float]:
    """Return mean absolute differences of consecutive 160x90 frames, as shares of 255."""
    smalls = [small(f) for f in frames[1:]]  # the first decoded frame is not compared
    return [float(np.abs(a - b).mean()) / 255 for a, b in itertools.pairwise(smalls)]


def outside_clock(width: int, height: int) -> np.ndarray:
    x, y, w, h = scenes.clock_region(width, height)
    mask = np.ones((height, width), bool)
    mask[y : y + h, x : x + w] = False
    return mask


@pytest.mark.parametrize(("token", "size"), [("main", (1280, 720)), ("sub", (640, 360))])
def test_opencv_reads_both_streams(server: RtspServer, token: str, size: tuple[int, int]) -> None:
    cam = by_kind(server, "live")
    started = time.monotonic()
    frames = read_cv(cred_url(server, cam, token), 5)
    assert all(f.shape == (size[1], size[0], 3) for f in frames)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(("token", "size"), [("main", (1280, 720)), ("sub", (640, 360))])
def test_pyav_decodes_both_streams(server: RtspServer, token: str, size: tuple[int, int]) -> None:
    cam = by_kind(server, "live")
    with av.open(cred_url(server, cam, token), options=AV_TCP, timeout=3) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = []
        for frame in c.decode(stream):
            frames.append(frame)
            if len(frames) == 4:
                break
    assert all((f.width, f.height) == size for f in frames)


def test_udp_request_falls_back_to_tcp(server: RtspServer) -> None:
    # FFmpeg's default tries UDP first; the server answers 461 and FFmpeg retries over TCP.
    url = cred_url(server, by_kind(server, "live"), "sub")
    with av.open(url, options={"analyzeduration": "100000"}, timeout=5) as container:
        packets = [p for _, p in zip(range(5), container.demux(video=0), strict=False)]
    assert len(packets) == 5


def test_rtsp_playback_is_real_time(server: RtspServer) -> None:
    async def run() -> tuple[tuple[int, int, int], list[int], int]:
        cam = by_kind(server, "live")
        client = await RtspClient.connect(cam.host, server.port(cam))
        client.set_credentials(cam.username, cam.password)
        played = await client.play(server.url(cam, "sub"))
        stats = await client.read_media(2.0)
        keepalive = await client.request("GET_PARAMETER", server.url(cam, "sub") + "/")
        teardown = await client.request("TEARDOWN", server.url(cam, "sub") + "/")
        await client.close()
        statuses = (played.status, keepalive.status, teardown.status)
        return statuses, stats.timestamps, stats.seq_gaps

    statuses, timestamps, gaps = asyncio.run(run())
    assert statuses == (200, 200, 200)
    assert 19 <= len(timestamps) <= 22  # 10 fps for 2 s, plus the first keyframe at once
    assert {b - a for a, b in itertools.pairwise(timestamps)} == {9000}
    assert gaps == 0


def test_timestamps_continue_across_the_loop() -> None:
    port = free_port("127.0.21.40")
    cam = CameraSpec(
        "T-02", "loop", "live", "127.0.21.40", port, 80, "admin", PASSWORD, streams=(SUB,)
    )
    with serve_in_thread([cam], clip_duration_s=1) as server:
        url = cred_url(server, cam, "sub")
        with av.open(url, options=AV_TCP, timeout=3) as container:
            stream = container.streams.video[0]
            pts: list[int] = []
            decoded = 0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                pts.append(packet.pts)
                decoded += len(packet.decode())
                if len(pts) == 25:  # 2.5 loops of a 1 s clip
                    break
    steps = {round(float((b - a) * stream.time_base), 3) for a, b in itertools.pairwise(pts)}
    assert steps == {0.1}
    assert decoded >= 15  # the decoder holds a few frames back


def test_picture_sizes_in_sdp(server: RtspServer) -> None:
    async def describe(token: str) -> str:
        cam = by_kind(server, "live")
        client = await RtspClient.connect(cam.host, server.port(cam))
        client.set_credentials(cam.username, cam.password)
        response = await client.request("DESCRIBE", server.url(cam, token))
        await client.close()
        return response.body.decode()

    assert "a=x-dimensions:1280,720" in asyncio.run(describe("main"))
    assert "a=framerate:10" in asyncio.run(describe("sub"))


# Content of each picture kind, decoded by FFmpeg through OpenCV.


def test_live_changes_every_frame(sub_frames: dict[str, list[np.ndarray]]) -> None:
    diffs = consecutive_diffs(sub_frames["live"])
    assert min(diffs) > 0.002
    assert 90 < grey(sub_frames["live"][5]).mean() < 190


def test_static_is_not_frozen(sub_frames: dict[str, list[np.ndarray]]) -> None:
    diffs = consecutive_diffs(sub_frames["static"])
    assert min(diffs) > 0.001  # above freezedetect's -60 dB
    assert max(diffs) < 0.02


def test_black_is_black(sub_frames: dict[str, list[np.ndarray]]) -> None:
    for frame in sub_frames["black"][1:]:
        luma = grey(frame)
        assert luma.mean() < 10
        assert (luma < 0.10 * 255).mean() > 0.98


def test_night_is_dark_but_alive(sub_frames: dict[str, list[np.ndarray]]) -> None:
    luma = grey(sub_frames["night"][5])
    assert 15 < luma.mean() < 60
    assert (luma < 0.10 * 255).mean() < 0.9
    assert min(consecutive_diffs(sub_frames["night"])) > 0.001


def test_frozen_frames_are_identical(sub_frames: dict[str, list[np.ndarray]]) -> None:
    frames = sub_frames["frozen"][1:]
    assert all(np.array_equal(frames[0], f) for f in frames)


def test_frozen_clock_changes_only_in_the_clock(sub_frames: dict[str, list[np.ndarray]]) -> None:
    frames = [grey(f) for f in sub_frames["frozen_clock"][1:]]
    mask = outside_clock(640, 360)
    diffs = [np.abs(a - b) for a, b in itertools.pairwise(frames)]
    # Intra prediction next to the clock leaks a trace of its change: a tiny one.
    assert max(float(d[mask].mean()) for d in diffs) < 0.1
    assert max(float(d[~mask].max()) for d in diffs) > 60  # the clock ticked
    assert max(consecutive_diffs(sub_frames["frozen_clock"])) < 0.001


def test_covered_is_flat(sub_frames: dict[str, list[np.ndarray]]) -> None:
    luma = grey(sub_frames["covered"][5])
    assert luma.std() < 10
    assert 40 < luma.mean() < 160


def test_defocused_has_little_detail(sub_frames: dict[str, list[np.ndarray]]) -> None:
    def sharpness(frame: np.ndarray) -> float:
        return float(cv2.Laplacian(grey(frame), cv2.CV_32F).var())

    assert sharpness(sub_frames["defocused"][5]) < 0.15 * sharpness(sub_frames["live"][5])


def test_moved_differs_from_the_reference(sub_frames: dict[str, list[np.ndarray]]) -> None:
    ref = small(scenes.reference(640, 360))
    live = float(np.abs(small(sub_frames["live"][5]) - ref).mean())
    moved = float(np.abs(small(sub_frames["moved"][5]) - ref).mean())
    assert moved > 15
    assert moved > 3 * live


# Credentials.


def test_wrong_password_is_refused(server: RtspServer) -> None:
    cam = by_kind(server, "live")
    url = cred_url(server, cam, "sub", password="not-the-password")
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(url, options=AV_TCP, timeout=3)
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, CV_PARAMS)
    assert not cap.isOpened()


def test_digest_handshake(server: RtspServer) -> None:
    async def run() -> list[int]:
        cam = by_kind(server, "live")
        url = server.url(cam, "sub")
        client = await RtspClient.connect(cam.host, server.port(cam))
        statuses = [(await client.request("OPTIONS", url)).status]
        challenge = await client.request("DESCRIBE", url)
        statuses.append(challenge.status)
        assert challenge.headers["www-authenticate"].startswith('Digest realm="')
        assert "nonce=" in challenge.headers["www-authenticate"]
        client.set_credentials(cam.username, cam.password)
        described = await client.request("DESCRIBE", url)
        statuses.append(described.status)
        assert b"H264/90000" in described.body
        await client.close()
        return statuses

    assert asyncio.run(run()) == [200, 401, 200]


def test_setup_over_udp_answers_461(server: RtspServer) -> None:
    async def run() -> int:
        cam = by_kind(server, "live")
        client = await RtspClient.connect(cam.host, server.port(cam))
        client.set_credentials(cam.username, cam.password)
        url = server.url(cam, "sub") + "/trackID=0"
        response = await client.request(
            "SETUP", url, {"Transport": "RTP/AVP;unicast;client_port=40000-40001"}
        )
        await client.close()
        return response.status

    assert asyncio.run(run()) == 461


def test_passwords_never_reach_the_logs(
    server: RtspServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sim.rtsp")
    cam = by_kind(server, "live")
    wrong = "Wr0ng-pa55word"
    read_cv(cred_url(server, cam, "sub"), 2)
    assert not cv2.VideoCapture(
        cred_url(server, cam, "sub", wrong), cv2.CAP_FFMPEG, CV_PARAMS
    ).isOpened()
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(cred_url(server, cam, "main", wrong), options=AV_TCP, timeout=3)
    time.sleep(0.2)  # let the server thread log the teardown
    text = caplog.text
    assert "DESCRIBE" in text
    assert "wrong credentials" in text
    assert PASSWORD not in text
    assert wrong not in text


def test_garbage_gets_400_and_the_server_keeps_serving(server: RtspServer) -> None:
    async def run() -> tuple[bytes, bytes]:
        cam = by_kind(server, "live")
        reader, writer = await asyncio.open_connection(cam.host, server.port(cam))
        writer.write(b"\x16\x03\x01 not rtsp at all\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(4096), 3)
        rest = await asyncio.wait_for(reader.read(4096), 3)
        writer.close()
        reader, writer = await asyncio.open_connection(cam.host, server.port(cam))
        writer.write(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + b"X-Pad: " + b"a" * 40000)
        closed = await asyncio.wait_for(reader.read(4096), 3)
        writer.close()
        return answer + rest, closed

    answer, oversized = asyncio.run(run())
    assert answer.startswith(b"RTSP/1.0 400")
    assert b"RTSP/1.0 200" not in oversized
    read_cv(cred_url(server, by_kind(server, "live"), "sub"), 2)


def test_stop_closes_clients_promptly() -> None:
    port = free_port("127.0.21.41")
    cam = CameraSpec(
        "T-03", "stop", "live", "127.0.21.41", port, 80, "admin", PASSWORD, streams=(SUB,)
    )

    async def run() -> tuple[float, int]:
        server = RtspServer([cam])
        await server.start()
        client = await RtspClient.connect(cam.host, port)
        client.set_credentials(cam.username, cam.password)
        await client.play(server.url(cam, "sub"))
        await client.read_media(0.3)
        started = time.monotonic()
        await server.stop()
        took = time.monotonic() - started
        stats = await client.read_media(2.0)  # ends at EOF, well before 2 s
        await client.close()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(cam.host, port)
        return took, stats.frames

    took, _ = asyncio.run(run())
    assert took < 1.0


def test_a_client_that_stops_reading_is_dropped_without_slowing_others() -> None:
    port = free_port("127.0.21.42")
    cam = CameraSpec("T-04", "slow", "frozen", "127.0.21.42", port, 80, "admin", PASSWORD)

    async def open_client(receive_buffer: int | None) -> RtspClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (cam.host, port))
        reader, writer = await asyncio.open_connection(sock=sock)
        client = RtspClient(reader, writer)
        client.set_credentials(cam.username, cam.password)
        assert (await client.play(f"rtsp://{cam.host}:{port}{cam.path}/main")).status == 200
        return client

    async def run() -> tuple[float, int]:
        server = RtspServer([cam], max_buffer=64 * 1024)
        await server.start()
        try:
            stalled = await open_client(4096)
            healthy = await open_client(None)
            started = time.monotonic()
            stats = await healthy.read_media(0.1)
            while server.connection_count > 1 and time.monotonic() - started < 15:
                await healthy.read_media(0.2, stats)
            dropped_after = time.monotonic() - started
            await healthy.read_media(0.5, stats)
            frames_per_s = stats.frames / (time.monotonic() - started)
            await stalled.close()
            await healthy.close()
            return dropped_after, round(frames_per_s)
        finally:
            await server.stop()

    dropped_after, fps = asyncio.run(run())
    assert dropped_after < 10
    assert fps in (14, 15, 16)
