"""Render a camera's current picture as the JPEG its snapshot endpoint serves."""

from __future__ import annotations

import zlib

import cv2

from sim import scenes
from sim.spec import TRANSPORT_FEEDS, CameraSpec, StreamSpec


def picture_kind(camera: CameraSpec) -> str:
    """Return the picture a camera shows: its feed, or "live" for transport-fault feeds."""
    return "live" if camera.feed in TRANSPORT_FEEDS else camera.feed


def scene_seed(camera: CameraSpec) -> int:
    """Return the stable per-camera seed that varies the rendered room between cameras."""
    return zlib.crc32(f"{camera.site}/{camera.name}".encode()) & 0xFFFF


def snapshot_jpeg(camera: CameraSpec, stream: StreamSpec, t: float, quality: int = 85) -> bytes:
    """Return a JPEG of the camera's picture at time t (seconds since the device started)."""
    frame = scenes.render(picture_kind(camera), stream.width, stream.height, t, scene_seed(camera))
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()
