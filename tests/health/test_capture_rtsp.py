"""Frame capture from the simulated cameras over real RTSP with OpenCV's FFmpeg backend."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from health.capture import Capture, CaptureOptions, capture, configure_ffmpeg, stream_url
from health.errors import AuthFailedError, NotFoundError, NoVideoError, UnreachableError
from sim.rtsp.background import serve_in_thread
from sim.rtsp.server import RtspServer
from sim.spec import SUB, CameraSpec

# A password with every character that needs escaping in a URL.
PASSWORD = "p@ss:w/rd%20#?&"
FEEDS = ("live", "stall", "stall_at_once", "hang", "unauthorized", "not_found", "refused")
OPTIONS = CaptureOptions()


def camera(index: int, feed: str) -> CameraSpec:
    stall_after = 0.0 if feed == "stall_at_once" else 0.6
    return CameraSpec(
        site="CAP-01-0001",
        name=f"cam{index}",
        feed=feed.removesuffix("_at_once"),
        host=f"127.0.23.{index + 40}",
        rtsp_port=8554,
        onvif_port=8080,
        username="admin",
        password=PASSWORD,
        stall_after_s=stall_after,
        streams=(SUB,),
    )


CAMERAS = {feed: camera(i, feed) for i, feed in enumerate(FEEDS)}


@pytest.fixture(scope="module")
def server() -> Iterator[RtspServer]:
    with serve_in_thread(list(CAMERAS.values())) as running:
        yield running


def grab(server: RtspServer, feed: str, password: str = PASSWORD) -> Capture:
    uri = server.url(CAMERAS[feed], "sub")
    return capture(uri, "admin", password, OPTIONS, time.monotonic() + OPTIONS.deadline_s)


def test_live_stream_is_sampled_across_the_window(server: RtspServer) -> None:
    result = grab(server, "live")
    assert result.ended == "window"
    assert len(result.frames) == OPTIONS.samples
    assert 0.9 * OPTIONS.window_s <= result.elapsed_s - result.open_s <= OPTIONS.window_s + 0.5
    assert result.open_s < 1.0
    assert result.image is not None
    assert result.image.shape == (360, 640, 3)
    first, last = result.frames[0], result.frames[-1]
    assert (last.width, last.height) == (640, 360)
    assert first.index >= 2  # the first frame after opening is never analysed
    assert last.pts_s is not None
    assert first.pts_s is not None
    assert last.pts_s - first.pts_s == pytest.approx(OPTIONS.window_s, abs=0.25)
    # At 10 fps over 1.2 s, about 12 frames are decoded but only the samples converted.
    assert 10 <= result.decoded <= 16


def test_stall_after_opening_ends_sampling_within_the_deadline(server: RtspServer) -> None:
    started = time.monotonic()
    result = grab(server, "stall")
    assert result.ended == "stalled"
    assert 1 <= len(result.frames) < OPTIONS.samples
    assert time.monotonic() - started < OPTIONS.open_timeout_s + OPTIONS.read_timeout_s + 1.0


def test_stream_that_never_sends_is_no_video(server: RtspServer) -> None:
    started = time.monotonic()
    with pytest.raises(NoVideoError) as caught:
        grab(server, "stall_at_once")
    assert time.monotonic() - started < OPTIONS.deadline_s
    assert PASSWORD not in str(caught.value)


def test_hang_is_unreachable_within_the_deadline(server: RtspServer) -> None:
    started = time.monotonic()
    with pytest.raises(UnreachableError) as caught:
        grab(server, "hang")
    elapsed = time.monotonic() - started
    assert caught.value.code == "timeout"
    assert elapsed < OPTIONS.open_timeout_s + OPTIONS.probe_timeout_s + 0.5


@pytest.mark.parametrize(
    ("feed", "password", "error", "code"),
    [
        ("unauthorized", PASSWORD, AuthFailedError, "auth_failed"),
        ("live", "wrong-password", AuthFailedError, "auth_failed"),
        ("not_found", PASSWORD, NotFoundError, "not_found"),
        ("refused", PASSWORD, UnreachableError, "refused"),
    ],
)
def test_failures_are_typed(
    server: RtspServer, feed: str, password: str, error: type[Exception], code: str
) -> None:
    started = time.monotonic()
    with pytest.raises(error) as caught:
        grab(server, feed, password)
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert time.monotonic() - started < 1.0
    assert PASSWORD not in str(caught.value)


def test_deadline_cuts_a_long_window(server: RtspServer) -> None:
    options = CaptureOptions(window_s=5.0, deadline_s=10.0)
    uri = server.url(CAMERAS["live"], "sub")
    started = time.monotonic()
    # No grab starts unless it can end by the deadline: sampling stops a read timeout early.
    deadline = started + options.read_timeout_s + 1.5
    result = capture(uri, "admin", PASSWORD, options, deadline)
    assert result.ended == "deadline"
    assert 1 <= len(result.frames) < options.samples
    assert time.monotonic() <= deadline - options.read_timeout_s + 0.3


def test_no_time_left_to_open_is_unreachable(server: RtspServer) -> None:
    uri = server.url(CAMERAS["live"], "sub")
    with pytest.raises(UnreachableError, match="no time left"):
        capture(uri, "admin", PASSWORD, OPTIONS, time.monotonic() + 1.0)


def test_options_that_cannot_keep_the_deadline_are_refused() -> None:
    with pytest.raises(ValueError, match="deadline_s"):
        CaptureOptions(deadline_s=3.0)
    with pytest.raises(ValueError, match="samples"):
        CaptureOptions(samples=1)
    with pytest.raises(ValueError, match="timeouts"):
        CaptureOptions(read_timeout_s=0)


def test_credentials_are_escaped_into_the_url() -> None:
    url = stream_url("rtsp://127.0.23.40:8554/a/sub", "ad min", "p@ss:w/rd")
    assert url == "rtsp://ad%20min:p%40ss%3Aw%2Frd@127.0.23.40:8554/a/sub"
    assert stream_url("rtsp://127.0.23.40/a", None, "x") == "rtsp://127.0.23.40/a"


def test_ffmpeg_settings_go_to_the_environment_only_when_capturing() -> None:
    configure_ffmpeg(CaptureOptions(analyze_duration_us=123_000))
    try:
        assert "analyzeduration;123000" in os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"]
        assert "rtsp_transport;tcp" in os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"]
    finally:
        configure_ffmpeg(OPTIONS)
    assert "analyzeduration;100000" in os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"]
