"""Render the simulated cameras' pictures: a polling-station room and its faulty variants."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from sim.spec import PICTURE_KINDS

Frame = npt.NDArray[np.uint8]

# Kinds a camera can show (listed once, with the feeds); transport-fault feeds show "live".
KINDS = PICTURE_KINDS
_KIND_IDS = {kind: index for index, kind in enumerate(KINDS)}

# The on-screen clock starts here (seconds after midnight) and ticks with t.
_CLOCK_START_S = 7 * 3600 + 59 * 60 + 30
# The instant a frozen picture was captured: people are mid-room then.
_FROZEN_T = 3.3
# How far "moved" turned the camera: shift as a share of the frame, rotation in degrees.
MOVED_SHIFT = (0.18, 0.12)
MOVED_ROTATION_DEG = 4.0


def clock_text(t: float) -> str:
    """Return the HH:MM:SS the on-screen clock shows at time t."""
    total = (_CLOCK_START_S + math.floor(t)) % 86400
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"


def _clock_geometry(width: int, height: int) -> tuple[float, int, int, int]:
    """Return font scale, thickness and the text origin of the clock."""
    scale = height / 720 * 1.1
    thickness = max(1, round(height / 360))
    return scale, thickness, round(width * 0.02), round(height * 0.02)


def clock_region(width: int, height: int) -> tuple[int, int, int, int]:
    """Return the (x, y, w, h) box that contains the on-screen clock, with a margin."""
    scale, thickness, x0, y0 = _clock_geometry(width, height)
    (text_w, text_h), base = cv2.getTextSize("00:00:00", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = 2 * thickness + 4
    return (
        max(0, x0 - pad),
        max(0, y0 - pad),
        min(width, text_w + 2 * pad),
        min(height, text_h + base + 2 * pad + 2 * thickness),
    )


def _draw_clock(frame: Frame, t: float) -> None:
    """Draw the clock as camera OSD does: white text with a dark outline, top-left."""
    height, width = frame.shape[:2]
    scale, thickness, x0, y0 = _clock_geometry(width, height)
    (_, text_h), _ = cv2.getTextSize("00:00:00", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    origin = (x0, y0 + text_h)
    text = clock_text(t)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(frame, text, origin, font, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(frame, text, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def _pt(width: int, height: int, u: float, v: float) -> tuple[int, int]:
    """Return pixel coordinates of a point given as shares of the frame."""
    return round(u * width), round(v * height)


def _rect(frame: Frame, u0: float, v0: float, u1: float, v1: float, color: tuple[int, ...]) -> None:
    """Fill a rectangle given in frame shares."""
    height, width = frame.shape[:2]
    cv2.rectangle(frame, _pt(width, height, u0, v0), _pt(width, height, u1, v1), color, -1)


@lru_cache(maxsize=16)
def _background(width: int, height: int, seed: int) -> Frame:
    """Return the empty room: wall, floor tiles, window, flag, notice board, booths, table."""
    rng = np.random.default_rng((seed, 7919))
    frame = np.empty((height, width, 3), np.uint8)
    horizon = round(height * 0.55)
    # Wall: a warm gradient with blotchy plaster texture.
    ramp = np.linspace(0.85, 1.05, horizon, dtype=np.float32)[:, None, None]
    wall = np.array([150, 180, 200], np.float32)[None, None, :] * ramp
    coarse = rng.standard_normal((max(2, horizon // 24), max(2, width // 24)), dtype=np.float32)
    blotch = np.asarray(cv2.resize(coarse, (width, horizon), interpolation=cv2.INTER_CUBIC))
    frame[:horizon] = np.clip(wall + blotch[:, :, None] * 6.0, 0, 255).astype(np.uint8)
    # Floor: tiles in perspective.
    frame[horizon:] = (95, 110, 125)
    for i in range(1, 9):
        v = 0.55 + 0.45 * (i / 9) ** 1.6
        y = round(v * height)
        cv2.line(frame, (0, y), (width, y), (70, 82, 96), max(1, height // 360))
    for i in range(-8, 17):
        top = _pt(width, height, 0.5 + (i - 4) * 0.06, 0.55)
        bottom = _pt(width, height, 0.5 + (i - 4) * 0.16, 1.0)
        cv2.line(frame, top, bottom, (70, 82, 96), max(1, height // 360))
    cv2.line(frame, (0, horizon), (width, horizon), (60, 70, 80), max(2, height // 180))
    # Window with bright panes and a frame.
    _rect(frame, 0.05, 0.10, 0.25, 0.45, (90, 80, 70))
    for pu, pv in ((0.06, 0.11), (0.155, 0.11), (0.06, 0.285), (0.155, 0.285)):
        _rect(frame, pu, pv, pu + 0.085, pv + 0.155, (235, 215, 190))
    # Flag: blue, white, green bands with red separators.
    _rect(frame, 0.33, 0.12, 0.45, 0.15, (180, 120, 20))
    _rect(frame, 0.33, 0.15, 0.45, 0.155, (40, 30, 200))
    _rect(frame, 0.33, 0.155, 0.45, 0.185, (245, 245, 245))
    _rect(frame, 0.33, 0.185, 0.45, 0.19, (40, 30, 200))
    _rect(frame, 0.33, 0.19, 0.45, 0.22, (60, 160, 40))
    # Notice board with lines of text.
    _rect(frame, 0.50, 0.08, 0.70, 0.38, (60, 90, 120))
    _rect(frame, 0.51, 0.095, 0.69, 0.365, (225, 230, 235))
    font = cv2.FONT_HERSHEY_SIMPLEX
    small = height / 720 * 0.55
    for row, text in enumerate(("SAYLOV", "UCHASTKASI", "No 0123", "07:00-20:00")):
        org = _pt(width, height, 0.52, 0.15 + row * 0.055)
        cv2.putText(frame, text, org, font, small, (40, 40, 40), max(1, height // 480), cv2.LINE_AA)
    # Voting booths: striped curtains on the right.
    for k in range(3):
        u0 = 0.72 + k * 0.09
        _rect(frame, u0, 0.30, u0 + 0.08, 0.72, (200, 200, 200))
        for s in range(6):
            su = u0 + 0.005 + s * 0.0125
            _rect(frame, su, 0.32, su + 0.006, 0.72, (160, 90, 30))
        _rect(frame, u0 - 0.003, 0.29, u0 + 0.083, 0.31, (50, 50, 50))
    # Table with the ballot box.
    _rect(frame, 0.30, 0.58, 0.62, 0.62, (40, 70, 110))
    _rect(frame, 0.32, 0.62, 0.335, 0.80, (30, 55, 90))
    _rect(frame, 0.585, 0.62, 0.60, 0.80, (30, 55, 90))
    _rect(frame, 0.40, 0.44, 0.52, 0.58, (205, 200, 190))
    _rect(frame, 0.43, 0.445, 0.49, 0.455, (60, 60, 60))
    cv2.rectangle(
        frame, _pt(width, height, 0.40, 0.44), _pt(width, height, 0.52, 0.58), (90, 90, 90), 2
    )
    # Fine texture everywhere so the picture has real detail to encode and to lose.
    grain = rng.normal(0.0, 3.0, (height, width, 1)).astype(np.float32)
    textured: Frame = np.clip(frame.astype(np.float32) + grain, 0, 255).astype(np.uint8)
    textured.setflags(write=False)
    return textured


def _person_positions(t: float) -> list[tuple[float, float, int]]:
    """Return (u, v, colour index) of each person walking through the room at time t."""
    walkers = (
        # start u, speed (shares/s), floor v, colour
        (0.10, 0.045, 0.78, 0),
        (0.85, -0.035, 0.90, 1),
        (0.40, 0.025, 0.70, 2),
    )
    positions = []
    for start, speed, v, colour in walkers:
        span = 1.2
        u = (start + speed * t + 0.1) % span - 0.1
        positions.append((u, v + 0.01 * math.sin(t * 6.0 + start * 10), colour))
    return positions


_CLOTHES = ((40, 40, 160), (130, 60, 20), (60, 120, 60))


def _draw_people(frame: Frame, t: float) -> None:
    """Draw the people at their positions at time t."""
    height, width = frame.shape[:2]
    for u, v, colour in _person_positions(t):
        size = 0.25 + 0.35 * (v - 0.55)  # nearer people are bigger
        body_w, body_h = size * 0.18, size * 0.75
        top = v - body_h
        legs = v - body_h * 0.35
        _rect(frame, u - body_w / 2, top + body_h * 0.18, u + body_w / 2, legs, _CLOTHES[colour])
        _rect(frame, u - body_w / 2.2, legs, u - body_w / 12, v, (50, 45, 40))
        _rect(frame, u + body_w / 12, legs, u + body_w / 2.2, v, (50, 45, 40))
        head = _pt(width, height, u, top + body_h * 0.09)
        radius = max(2, round(body_h * height * 0.09))
        cv2.circle(frame, head, radius, (120, 160, 200), -1, cv2.LINE_AA)
        cv2.circle(frame, (head[0], head[1] - radius // 2), radius, (30, 30, 40), -1, cv2.LINE_AA)
        cv2.circle(
            frame, (head[0], head[1] + radius // 4), round(radius * 0.8), (120, 160, 200), -1
        )


def _rng(seed: int, kind: str, t: float) -> np.random.Generator:
    """Return the RNG of one frame: seeded by seed, kind and the frame's time in ms."""
    return np.random.default_rng((seed, _KIND_IDS[kind], round(t * 1000)))


# Noise windows are cut from a field this much larger than the frame, at random offsets.
_NOISE_PAD = 48


@lru_cache(maxsize=16)
def _noise_bank(width: int, height: int, sigma: float) -> tuple[Frame, Frame]:
    """Return positive and negative parts of a noise field a little larger than the frame."""
    rng = np.random.default_rng((104729, round(sigma * 100)))
    shape = (height + _NOISE_PAD, width + _NOISE_PAD)
    noise = rng.standard_normal(shape, dtype=np.float32) * sigma
    pos = np.clip(np.rint(noise), 0, 255).astype(np.uint8)
    neg = np.clip(np.rint(-noise), 0, 255).astype(np.uint8)
    pos3 = np.ascontiguousarray(np.repeat(pos[:, :, None], 3, axis=2))
    neg3 = np.ascontiguousarray(np.repeat(neg[:, :, None], 3, axis=2))
    pos3.setflags(write=False)
    neg3.setflags(write=False)
    return pos3, neg3


def _sensor_noise(frame: Frame, rng: np.random.Generator, sigma: float, coarse: float) -> Frame:
    """Return frame plus per-pixel noise, blotchy low-frequency noise and a light flicker."""
    height, width = frame.shape[:2]
    # Per-pixel noise: a random window of a cached field, far cheaper than fresh noise.
    pos, neg = _noise_bank(width, height, sigma)
    dy, dx = (int(v) for v in rng.integers(0, _NOISE_PAD, 2))
    out = cv2.add(frame, pos[dy : dy + height, dx : dx + width])
    out = cv2.subtract(out, neg[dy : dy + height, dx : dx + width])
    # Coarse noise and flicker survive encoding and downscaling, as real sensor noise does.
    low_shape = (max(2, height // 24), max(2, width // 24))
    low = rng.standard_normal(low_shape, dtype=np.float32) * coarse
    low += float(rng.normal(0.0, coarse * 0.5))
    low3 = np.repeat(low[:, :, None], 3, axis=2)
    up_pos = cv2.resize(np.clip(np.rint(low3), 0, 255).astype(np.uint8), (width, height))
    up_neg = cv2.resize(np.clip(np.rint(-low3), 0, 255).astype(np.uint8), (width, height))
    out = cv2.add(out, up_pos)
    return np.asarray(cv2.subtract(out, up_neg), np.uint8)


def _scene(width: int, height: int, t: float, seed: int) -> Frame:
    """Return the room with its people at time t, without noise or OSD."""
    frame = _background(width, height, seed).copy()
    _draw_people(frame, t)
    return frame


def reference(width: int, height: int, seed: int = 0) -> Frame:
    """Return the live scene as the installer aimed it (what "moved" is compared against)."""
    frame = _scene(width, height, 0.0, seed)
    _draw_clock(frame, 0.0)
    return frame


@lru_cache(maxsize=8)
def _frozen_picture(width: int, height: int, seed: int) -> Frame:
    """Return the scene a frozen camera keeps sending, noise baked in once, without OSD."""
    frame = _sensor_noise(_scene(width, height, _FROZEN_T, seed), _rng(seed, "frozen", 0), 2.5, 2)
    frame.setflags(write=False)
    return frame


@lru_cache(maxsize=8)
def _covered_field(width: int, height: int) -> Frame:
    """Return a dull brown field, light leaking in at one edge, as under a bag or lens cap."""
    ramp = np.linspace(0.9, 1.1, width, dtype=np.float32)[None, :, None]
    base = np.array([70, 95, 120], np.float32)[None, None, :] * ramp
    field = np.ascontiguousarray(np.broadcast_to(base, (height, width, 3)).astype(np.uint8))
    field.setflags(write=False)
    return field


def _moved(frame: Frame) -> Frame:
    """Return the scene as seen by a camera knocked aside: shifted and slightly rotated."""
    height, width = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), MOVED_ROTATION_DEG, 1.05)
    matrix[0, 2] += MOVED_SHIFT[0] * width
    matrix[1, 2] += MOVED_SHIFT[1] * height
    warped = cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT_101)
    return np.asarray(warped, np.uint8)


def render(kind: str, width: int, height: int, t: float, seed: int = 0) -> Frame:
    """Return the BGR picture a camera of the given kind shows at time t."""
    if kind not in _KIND_IDS:
        raise ValueError(f"unknown picture kind {kind!r}; known: {', '.join(KINDS)}")
    rng = _rng(seed, kind, t)
    if kind in ("frozen", "frozen_clock"):
        # A hung encoder repeats its last picture; only a separate OSD stage keeps ticking.
        frame = _frozen_picture(width, height, seed).copy()
        _draw_clock(frame, t if kind == "frozen_clock" else _FROZEN_T)
        return frame
    if kind == "black":
        return _sensor_noise(np.full((height, width, 3), 2, np.uint8), rng, 1.0, 0.3)
    if kind == "covered":
        return _sensor_noise(_covered_field(width, height), rng, 1.2, 0.5)
    if kind == "static":
        frame = _sensor_noise(_scene(width, height, _FROZEN_T, seed), rng, 2.5, 2.0)
    elif kind == "night":
        # IR night mode: monochrome, very dark, high gain noise; the OSD stays bright.
        grey = cv2.cvtColor(_scene(width, height, t, seed), cv2.COLOR_BGR2GRAY)
        dark = cv2.convertScaleAbs(grey, alpha=0.16, beta=8.0)
        frame = _sensor_noise(np.asarray(cv2.cvtColor(dark, cv2.COLOR_GRAY2BGR)), rng, 4.0, 2.5)
    elif kind == "defocused":
        # Optics blur everything the sensor sees, OSD included in this simulation.
        scene = _scene(width, height, t, seed)
        _draw_clock(scene, t)
        # Blur at a quarter size: the same look as a wide kernel at a fraction of the cost.
        small = cv2.resize(scene, (width // 4, height // 4), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), width * 0.003)
        blurred = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        return _sensor_noise(np.asarray(blurred, np.uint8), rng, 2.0, 1.5)
    elif kind == "moved":
        frame = _sensor_noise(_moved(_scene(width, height, t, seed)), rng, 2.5, 2.0)
    else:
        frame = _sensor_noise(_scene(width, height, t, seed), rng, 2.5, 2.0)
    _draw_clock(frame, t)
    return frame
