"""Render a camera's current picture as the JPEG its snapshot endpoint serves."""

from __future__ import annotations

import cv2

from sim import scenes
from sim.spec import TRANSPORT_FEEDS, CameraSpec, StreamSpec


def picture_kind(camera: CameraSpec) -> str:
    """Return the picture a camera shows: its feed, or "live" for transport-fault feeds."""
    return "live" if camera.feed in TRANSPORT_FEEDS else camera.feed


def snapshot_jpeg(camera: CameraSpec, stream: StreamSpec, t: float, quality: int = 85) -> bytes:
    """Return a JPEG of the camera's picture at time t (seconds since the device started)."""
    # Seed 0, as the RTSP clips use, so a snapshot shows the same room as the camera's stream.
    frame = scenes.render(picture_kind(camera), stream.width, stream.height, t, seed=0)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()
