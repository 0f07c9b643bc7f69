"""Sample frames from an RTSP stream with OpenCV's FFmpeg backend, within a hard deadline."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlsplit, urlunsplit

import cv2
import numpy as np

from camfleet.redact import redact_url
from health.analysis import Frame, Image
from health.errors import (
    AuthFailedError,
    NotFoundError,
    NoVideoError,
    StreamError,
    UnreachableError,
)
from health.model import CaptureOptions as CaptureOptions  # re-exported: its old home
from health.rtsp_probe import probe_stream
from health.status import Status

log = logging.getLogger(__name__)

_ENV_LOCK = threading.Lock()
_ERRORS: dict[Status, type[StreamError]] = {
    Status.UNREACHABLE: UnreachableError,
    Status.AUTH_FAILED: AuthFailedError,
    Status.NOT_FOUND: NotFoundError,
    Status.NO_VIDEO: NoVideoError,
}


@dataclass(frozen=True, eq=False)
class Capture:
    """Frames sampled from one stream, the picture for a thumbnail, and how it went."""

    frames: list[Frame]
    image: Image | None
    decoded: int
    open_s: float
    elapsed_s: float
    ended: str
    """Why sampling stopped: "window" (all watched), "stalled" (a read failed) or "deadline"."""
    details: dict[str, float | int] = field(default_factory=dict)


def stream_url(uri: str, username: str | None, password: str | None) -> str:
    """Return the stream URL with credentials added (for the connection only, never shown)."""
    if not username:
        return uri
    parts = urlsplit(uri)
    userinfo = quote(username, safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


def configure_ffmpeg(options: CaptureOptions) -> None:
    """Put the FFmpeg settings into the process environment, where OpenCV reads them."""
    wanted = {"OPENCV_FFMPEG_CAPTURE_OPTIONS": options.ffmpeg_options()}
    if options.ffmpeg_thread_safe is not None:
        wanted["OPENCV_FFMPEG_IS_THREAD_SAFE"] = "1" if options.ffmpeg_thread_safe else "0"
    if options.ffmpeg_log_level is not None:
        wanted["OPENCV_FFMPEG_LOGLEVEL"] = str(options.ffmpeg_log_level)
    # setenv while another thread's FFmpeg open reads the environment is a data race in libc,
    # so write only when a value actually changes, which in a steady process is never.
    with _ENV_LOCK:
        for key, value in wanted.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


def _open(url: str, options: CaptureOptions, budget_s: float) -> cv2.VideoCapture:
    """Open the stream with open and read timeouts as open parameters."""
    open_ms = max(1, int(min(options.open_timeout_s, budget_s) * 1000))
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        open_ms,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(options.read_timeout_s * 1000),
        cv2.CAP_PROP_N_THREADS,
        options.decoder_threads,
    ]
    return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)


def diagnose(uri: str, username: str | None, password: str | None, timeout_s: float) -> StreamError:
    """Return the typed error explaining why a stream did not open."""
    result = probe_stream(uri, username, password, timeout_s)
    if result.status is Status.OK:
        message = f"{redact_url(uri)} describes video, but no frame could be decoded from it"
        return NoVideoError("undecodable", message)
    return _ERRORS.get(result.status, NoVideoError)(result.code, result.message)


def _pts(cap: cv2.VideoCapture) -> float | None:
    """Return the presentation time of the last grabbed frame in seconds, when known."""
    value = float(cap.get(cv2.CAP_PROP_POS_MSEC))
    return value / 1000.0 if np.isfinite(value) and value >= 0 else None


def _sample(cap: cv2.VideoCapture, options: CaptureOptions, deadline: float) -> Capture:
    """Grab frames across the window, decoding to pictures only the ones analysed.

    A grab may block for the read timeout, so none starts unless it can end by the deadline.
    """
    if deadline - time.monotonic() < options.read_timeout_s or not cap.grab():
        raise NoVideoError("no_frames", "the stream opened but delivered no frame")
    # The first frame after opening is a low-quality keyframe; never compare against it.
    start = time.monotonic()
    decoded, image = 1, None
    frames: list[Frame] = []
    step = options.window_s / (options.samples - 1)
    stalled_after = 0.9 * options.read_timeout_s
    ended = "window"
    # Paced by the wall clock, which always advances; pts are recorded for the analysis.
    while len(frames) < options.samples:
        if deadline - time.monotonic() < options.read_timeout_s:
            ended = "deadline"
            break
        before = time.monotonic()
        if not cap.grab() or time.monotonic() - before >= stalled_after:
            # A read that hit the timeout means the stream stalled, even when the decoder
            # then hands out the frames it still held: stop rather than wait again for each.
            ended = "stalled"
            break
        decoded += 1
        if time.monotonic() - start + 1e-3 >= len(frames) * step:
            # Decode into the previous sample's array: the check then holds one full-size
            # picture, not one per sample waiting for the garbage collector (0.7 MB each).
            ok, picture = cap.retrieve(image)
            if ok and picture is not None:
                image = np.asarray(picture, np.uint8)
                frame = Frame.from_image(image, decoded, _pts(cap))
                if np.may_share_memory(frame.luma, image):
                    # A grey picture already at analysis size is its own luma: keep a copy,
                    # the next sample overwrites the array.
                    frame = replace(frame, luma=frame.luma.copy())
                frames.append(frame)
    return Capture(frames, image, decoded, 0.0, time.monotonic() - start, ended)


def capture(
    uri: str,
    username: str | None,
    password: str | None,
    options: CaptureOptions,
    deadline: float,
) -> Capture:
    """Open a stream and sample it; raise a StreamError saying why when that fails."""
    configure_ffmpeg(options)
    started = time.monotonic()
    # The probe runs after a failed open, so the open must leave time for it.
    open_budget = deadline - started - options.probe_timeout_s
    if open_budget <= 0:
        raise UnreachableError("timeout", "no time left in the check deadline to open the stream")
    cap = _open(stream_url(uri, username, password), options, open_budget)
    try:
        open_s = time.monotonic() - started
        if not cap.isOpened():
            log.debug("stream %s did not open in %.2f s", redact_url(uri), open_s)
            remaining = deadline - time.monotonic()
            raise diagnose(uri, username, password, min(options.probe_timeout_s, remaining))
        result = _sample(cap, options, deadline)
    finally:
        cap.release()
    return Capture(
        result.frames,
        result.image,
        result.decoded,
        open_s,
        time.monotonic() - started,
        result.ended,
    )
