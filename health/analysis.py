"""Decide a camera's picture health from sampled frames: pure functions on numpy arrays."""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from health.status import Reason, Status, most_severe, rank
from health.thresholds import Thresholds

Image = npt.NDArray[np.uint8]
Measurements = dict[str, float | int]

# Every detector works on luma scaled to this fixed size: cheap (about 14 k pixels), and the
# same for main and sub streams, so a reference taken on one stream matches the other.
ANALYSIS_WIDTH = 160
ANALYSIS_HEIGHT = 90
# The change grid for frozen detection: cells of 10 x 10 analysis pixels (16 x 9 cells).
_CELL = 10
# Sobel magnitude (|gx| + |gy|) counted as a visible edge: a step of about 6 grey levels.
# Sensor noise left after downscaling stays well below it.
_EDGE_LEVEL = 24.0
# A picture below this share of the reference's sharpness is compared with a softened reference.
_SOFTER = 0.8
_REF_MAGIC = b"CFR1"
_REF_HEADER = struct.Struct("<4sHHd")


@dataclass(frozen=True, eq=False)
class Frame:
    """One sampled picture: its luma at analysis size, source size, sequence number and pts."""

    luma: Image
    width: int
    height: int
    index: int
    pts_s: float | None

    @classmethod
    def from_image(cls, image: Image, index: int = 0, pts_s: float | None = None) -> Frame:
        """Build a frame from a decoded BGR or grey picture."""
        height, width = image.shape[:2]
        return cls(shrink(image), width, height, index, pts_s)


@dataclass(frozen=True)
class StreamExpectation:
    """What the camera's media profile promises, and its clock skew when known."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    clock_skew_s: float | None = None


@dataclass(frozen=True, eq=False)
class ReferenceFeatures:
    """The installer's reference view of a camera, reduced to what the detectors compare."""

    luma: Image
    sharpness: float

    def to_bytes(self) -> bytes:
        """Return the features as a small, versioned, compressed blob."""
        header = _REF_HEADER.pack(_REF_MAGIC, ANALYSIS_WIDTH, ANALYSIS_HEIGHT, self.sharpness)
        return header + zlib.compress(self.luma.tobytes(), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceFeatures:
        """Rebuild features from a blob; raise ValueError when it is not one."""
        if len(data) < _REF_HEADER.size:
            raise ValueError("reference blob is too short")
        magic, width, height, sharpness = _REF_HEADER.unpack_from(data)
        if magic != _REF_MAGIC or (width, height) != (ANALYSIS_WIDTH, ANALYSIS_HEIGHT):
            raise ValueError("reference blob has an unknown format")
        try:
            raw = zlib.decompressobj().decompress(data[_REF_HEADER.size :], width * height + 1)
        except zlib.error as exc:
            raise ValueError(f"reference blob is corrupt: {exc}") from exc
        if len(raw) != width * height:
            raise ValueError("reference blob has the wrong picture size")
        luma = np.frombuffer(raw, np.uint8).reshape(height, width)
        return cls(luma, float(sharpness))


@dataclass(frozen=True)
class Finding:
    """One detector's verdict: the status it calls for and why."""

    status: Status
    reason: Reason


@dataclass(frozen=True)
class Analysis:
    """The combined verdict on a set of frames: status, reasons (most severe first), figures."""

    status: Status
    reasons: list[Reason]
    measurements: Measurements = field(default_factory=dict)


def shrink(image: Image) -> Image:
    """Return the picture as luma at analysis size."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # Halving with INTER_AREA has a fast path in OpenCV (about 6x faster than one 4x step)
    # and still averages every source pixel, which keeps sensor noise down.
    while grey.shape[0] >= 2 * ANALYSIS_HEIGHT and grey.shape[1] >= 2 * ANALYSIS_WIDTH:
        half = (grey.shape[1] // 2, grey.shape[0] // 2)
        grey = cv2.resize(grey, half, interpolation=cv2.INTER_AREA)
    if grey.shape != (ANALYSIS_HEIGHT, ANALYSIS_WIDTH):
        size = (ANALYSIS_WIDTH, ANALYSIS_HEIGHT)
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(grey, np.uint8)


def black_share(luma: Image, thresholds: Thresholds) -> float:
    """Return the share of pixels at or below the black level (as ffmpeg blackdetect counts)."""
    level = int(thresholds.black_pixel_level * 255.0)
    return float(np.count_nonzero(luma <= level)) / luma.size


def detect_black(
    frames: Sequence[Frame], thresholds: Thresholds
) -> tuple[Finding | None, Measurements]:
    """Call the feed black when the median frame is almost all below the black level."""
    share = float(np.median([black_share(f.luma, thresholds) for f in frames]))
    mean = float(np.mean([f.luma.mean() for f in frames]))
    found = None
    if share >= thresholds.black_picture_share:
        message = (
            f"{share * 100:.1f} % of pixels darker than {thresholds.black_pixel_level:.2f} "
            "of the luma range"
        )
        found = Finding(Status.BLACK, Reason("black", message))
    return found, {"black_share": round(share, 4), "luma_mean": round(mean, 2)}


def _osd_cells(thresholds: Thresholds) -> npt.NDArray[np.bool_]:
    """Return the grid cells that touch the on-screen-display region."""
    rows, cols = ANALYSIS_HEIGHT // _CELL, ANALYSIS_WIDTH // _CELL
    top = np.arange(rows) * _CELL / ANALYSIS_HEIGHT
    left = np.arange(cols) * _CELL / ANALYSIS_WIDTH
    in_rows = (top + _CELL / ANALYSIS_HEIGHT > thresholds.osd_top) & (top < thresholds.osd_bottom)
    in_cols = (left + _CELL / ANALYSIS_WIDTH > thresholds.osd_left) & (left < thresholds.osd_right)
    return np.asarray(np.outer(in_rows, in_cols), np.bool_)


def cell_changes(a: Image, b: Image) -> npt.NDArray[np.float32]:
    """Return the mean absolute luma difference of each grid cell between two frames."""
    diff = cv2.absdiff(a, b).astype(np.float32)
    grid = (ANALYSIS_WIDTH // _CELL, ANALYSIS_HEIGHT // _CELL)
    # An exact integer-factor INTER_AREA resize is the mean of each cell, and fast.
    return np.asarray(cv2.resize(diff, grid, interpolation=cv2.INTER_AREA), np.float32)


def detect_frozen(
    frames: Sequence[Frame], thresholds: Thresholds
) -> tuple[Finding | None, Measurements]:
    """Call the feed frozen when frame pairs show no spread change outside the OSD region."""
    if len(frames) < 3:
        return None, {"frozen_pairs": max(0, len(frames) - 1)}
    outside = ~_osd_cells(thresholds)
    cells = max(1, int(outside.sum()))
    spreads: list[float] = []
    change_max = 0.0
    for a, b in itertools.pairwise(frames):
        change = cell_changes(a.luma, b.luma)[outside]
        spreads.append(float(np.count_nonzero(change > thresholds.frozen_cell_change)) / cells)
        change_max = max(change_max, float(change.mean()))
    live = sum(s >= thresholds.frozen_pair_spread for s in spreads) / len(spreads)
    measurements: Measurements = {
        "frozen_pairs": len(spreads),
        "frozen_live_share": round(live, 3),
        "change_spread_max": round(max(spreads), 4),
        "change_mean_max": round(change_max, 3),
    }
    found = None
    if live < thresholds.frozen_live_pairs:
        span = _pts_span(frames)
        over = f" over {span:.1f} s" if span is not None else ""
        message = (
            f"picture unchanged{over}: {live * 100:.0f} % of {len(spreads)} frame pairs changed "
            f"beyond the on-screen display (largest change {max(spreads) * 100:.1f} % "
            "of the picture)"
        )
        found = Finding(Status.FROZEN, Reason("frozen", message))
    return found, measurements


def _gradients(luma: Image) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Return the horizontal and vertical Sobel gradients of a luma picture."""
    gx = np.asarray(cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3), np.float32)
    gy = np.asarray(cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3), np.float32)
    return gx, gy


def edge_share(luma: Image) -> float:
    """Return the share of pixels on a visible edge."""
    gx, gy = _gradients(luma)
    return float(np.count_nonzero(np.abs(gx) + np.abs(gy) >= _EDGE_LEVEL)) / luma.size


def detect_covered(frame: Frame, thresholds: Thresholds) -> tuple[Finding | None, Measurements]:
    """Call the picture covered when it is nearly uniform: low contrast and almost no edges."""
    contrast = float(frame.luma.std())
    edges = edge_share(frame.luma)
    found = None
    if contrast <= thresholds.covered_max_contrast and edges <= thresholds.covered_max_edges:
        message = (
            f"near-uniform picture: luma deviation {contrast:.1f} grey levels, "
            f"{edges * 100:.2f} % of pixels on an edge"
        )
        found = Finding(Status.COVERED, Reason("covered", message))
    return found, {"contrast": round(contrast, 2), "edge_share": round(edges, 4)}


def sharpness(luma: Image) -> float:
    """Return a contrast-independent sharpness: Laplacian energy over gradient energy.

    Both energies scale with the square of contrast, so the ratio tracks how narrow edges are
    (focus), not how bright or contrasty the scene is: night and day give the same figure.
    """
    blurred = np.asarray(cv2.GaussianBlur(luma, (3, 3), 0), np.uint8)
    lap = np.asarray(cv2.Laplacian(blurred, cv2.CV_32F, ksize=1), np.float32)
    gx, gy = _gradients(blurred)
    grad = float(np.mean(gx * gx + gy * gy))
    return 100.0 * float(np.mean(lap * lap)) / (grad + 1.0)


def detect_blur(
    frame: Frame, reference: ReferenceFeatures | None, thresholds: Thresholds
) -> tuple[Finding | None, Measurements]:
    """Call the picture blurred when it is much less sharp than the reference (or a floor)."""
    value = sharpness(frame.luma)
    measurements: Measurements = {"sharpness": round(value, 3)}
    found = None
    if reference is not None and reference.sharpness > 0:
        ratio = value / reference.sharpness
        measurements["sharpness_ratio"] = round(ratio, 3)
        if ratio < thresholds.blur_min_ratio:
            message = (
                f"sharpness {value:.2f} is {ratio * 100:.0f} % of the reference's "
                f"{reference.sharpness:.2f} (minimum {thresholds.blur_min_ratio * 100:.0f} %)"
            )
            found = Finding(Status.BLURRED, Reason("blurred", message))
    elif value < thresholds.blur_min_sharpness:
        message = f"sharpness {value:.2f} is below the floor {thresholds.blur_min_sharpness:.2f}"
        found = Finding(Status.BLURRED, Reason("blurred", message))
    return found, measurements


def _osd_box(thresholds: Thresholds) -> tuple[int, int, int, int]:
    """Return the on-screen-display region as (left, top, right, bottom) analysis pixels."""
    return (
        round(thresholds.osd_left * ANALYSIS_WIDTH),
        round(thresholds.osd_top * ANALYSIS_HEIGHT),
        round(thresholds.osd_right * ANALYSIS_WIDTH),
        round(thresholds.osd_bottom * ANALYSIS_HEIGHT),
    )


def _structure(luma: Image, osd: tuple[int, int, int, int]) -> npt.NDArray[np.float32]:
    """Return the smoothed gradient magnitude: the scene's edges, free of brightness level."""
    gx, gy = _gradients(np.asarray(cv2.GaussianBlur(luma, (5, 5), 0), np.uint8))
    edges = np.asarray(cv2.GaussianBlur(cv2.magnitude(gx, gy), (5, 5), 0), np.float32)
    # The OSD text keeps full brightness at night while the scene's edges fade, so left in it
    # would dominate the correlation; flatten it to the picture's typical edge strength.
    left, top, right, bottom = osd
    if right > left and bottom > top:
        edges[top:bottom, left:right] = float(edges.mean())
    return edges


def _match(
    current: npt.NDArray[np.float32], ref: npt.NDArray[np.float32], tolerance: int
) -> tuple[float, int, int]:
    """Return the best correlation of two structure maps within ±tolerance pixels."""
    template = ref[tolerance : ANALYSIS_HEIGHT - tolerance, tolerance : ANALYSIS_WIDTH - tolerance]
    if float(template.std()) < 1e-3 or float(current.std()) < 1e-3:
        return 0.0, 0, 0
    scores = cv2.matchTemplate(current, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(scores)
    return float(best), x - tolerance, y - tolerance


def view_similarity(
    luma: Image, reference: Image, tolerance: int, osd: tuple[int, int, int, int] = (0, 0, 0, 0)
) -> tuple[float, int, int]:
    """Return the best edge-structure correlation within ±tolerance pixels, and its shift."""
    return _match(_structure(luma, osd), _structure(reference, osd), tolerance)


def _blurred_like(reference: Image, target: float) -> Image:
    """Return the reference blurred to about the given sharpness.

    A defocused camera still looks where it did; comparing its soft edges with the sharp
    reference's would call that a changed view, so the reference is softened to match first.
    """
    best, gap = reference, abs(sharpness(reference) - target)
    for sigma in (0.6, 0.9, 1.3, 1.8, 2.5, 3.5):
        candidate = np.asarray(cv2.GaussianBlur(reference, (0, 0), sigma), np.uint8)
        distance = abs(sharpness(candidate) - target)
        if distance < gap:
            best, gap = candidate, distance
    return best


def detect_view_change(
    frames: Sequence[Frame], reference: ReferenceFeatures, thresholds: Thresholds
) -> tuple[Finding | None, Measurements]:
    """Call the view changed when the scene's edges no longer line up with the reference.

    The latest frame is judged first; only when it does not match are the other frames tried,
    so that people standing in front of the camera for a moment do not count as a moved view.
    """
    tolerance = int(thresholds.view_shift_tolerance)
    osd = _osd_box(thresholds)
    sharp_ref = _structure(reference.luma, osd)
    best = (-1.0, 0, 0)
    for frame in reversed(frames):
        ref = sharp_ref
        value = sharpness(frame.luma)
        if value < reference.sharpness * _SOFTER:
            ref = _structure(_blurred_like(reference.luma, value), osd)
        best = max(best, _match(_structure(frame.luma, osd), ref, tolerance))
        if best[0] >= thresholds.view_min_similarity:
            break
    score, dx, dy = best
    measurements: Measurements = {"view_similarity": round(score, 3), "view_dx": dx, "view_dy": dy}
    found = None
    if score < thresholds.view_min_similarity:
        message = (
            f"scene matches the reference frame at {score:.2f} "
            f"(minimum {thresholds.view_min_similarity:.2f}): "
            "the camera was moved or its view blocked"
        )
        found = Finding(Status.VIEW_CHANGED, Reason("view_changed", message))
    return found, measurements


def _pts_span(frames: Sequence[Frame]) -> float | None:
    """Return the presentation-time span of the frames, when every frame has a pts."""
    first, last = frames[0].pts_s, frames[-1].pts_s
    if first is None or last is None:
        return None
    return last - first


def measured_fps(frames: Sequence[Frame]) -> float | None:
    """Return the stream's frame rate: the median rate between consecutive sampled frames.

    The median, because right after opening FFmpeg reports the first frames' times before it
    has settled the stream's start time, which skews the first pair.
    """
    rates = [
        (b.index - a.index) / (b.pts_s - a.pts_s)
        for a, b in itertools.pairwise(frames)
        if a.pts_s is not None and b.pts_s is not None and b.pts_s > a.pts_s
    ]
    return float(np.median(rates)) if rates else None


def detect_degraded(
    frames: Sequence[Frame], expected: StreamExpectation, thresholds: Thresholds
) -> tuple[list[Finding], Measurements]:
    """Find a frame rate, resolution or camera clock short of the profile."""
    found: list[Finding] = []
    last = frames[-1]
    measurements: Measurements = {"width": last.width, "height": last.height}
    fps = measured_fps(frames)
    if fps is not None:
        measurements["fps"] = round(fps, 2)
        if expected.fps and fps < expected.fps * thresholds.min_fps_ratio:
            message = f"{fps:.1f} fps measured, the profile promises {expected.fps:g}"
            found.append(Finding(Status.DEGRADED, Reason("low_fps", message)))
    short = [
        (got, want)
        for got, want in ((last.width, expected.width), (last.height, expected.height))
        if want and got < want * thresholds.min_resolution_ratio
    ]
    if short:
        message = (
            f"resolution {last.width}x{last.height}, the profile promises "
            f"{expected.width or '?'}x{expected.height or '?'}"
        )
        found.append(Finding(Status.DEGRADED, Reason("low_resolution", message)))
    if expected.clock_skew_s is not None:
        measurements["clock_skew_s"] = round(expected.clock_skew_s, 3)
        if abs(expected.clock_skew_s) >= thresholds.max_clock_skew_s:
            message = f"camera clock is off by {expected.clock_skew_s:+.1f} s"
            found.append(Finding(Status.DEGRADED, Reason("clock_skew", message)))
    return found, measurements


def detect_stall(frames: Sequence[Frame]) -> Finding | None:
    """Find frames that repeat one presentation time: the stream stopped advancing."""
    stamps = [f.pts_s for f in frames if f.pts_s is not None]
    if len(stamps) >= 2 and max(stamps) - min(stamps) <= 0:
        message = f"{len(frames)} frames all carry the same timestamp: the stream is not advancing"
        return Finding(Status.NO_VIDEO, Reason("stalled", message))
    return None


def _judge_content(
    frames: Sequence[Frame],
    reference: ReferenceFeatures | None,
    thresholds: Thresholds,
    measurements: Measurements,
    advancing: bool,
) -> list[Finding]:
    """Run the detectors that need picture content: frozen, blurred, view changed."""
    found: list[Finding] = []
    if advancing:
        frozen, figures = detect_frozen(frames, thresholds)
        measurements.update(figures)
        found.extend([frozen] if frozen else [])
    latest = frames[-1]
    blur, figures = detect_blur(latest, reference, thresholds)
    measurements.update(figures)
    found.extend([blur] if blur else [])
    if reference is not None:
        moved, figures = detect_view_change(frames, reference, thresholds)
        measurements.update(figures)
        found.extend([moved] if moved else [])
    return found


def analyse(
    frames: Sequence[Frame],
    expected: StreamExpectation,
    reference: ReferenceFeatures | None,
    thresholds: Thresholds,
) -> Analysis:
    """Combine every detector into one status, its reasons and the measurements behind them."""
    if not frames:
        reason = Reason("no_frames", "no decodable frame arrived")
        return Analysis(Status.NO_VIDEO, [reason], {"frames_analysed": 0})
    measurements: Measurements = {"frames_analysed": len(frames)}
    findings: list[Finding] = []
    stall = detect_stall(frames)
    if stall is not None:
        findings.append(stall)
    degraded, figures = detect_degraded(frames, expected, thresholds)
    findings.extend(degraded)
    measurements.update(figures)
    black, figures = detect_black(frames, thresholds)
    measurements.update(figures)
    # The latest frame judges the view. A black or uniform picture has no content that could
    # show motion, focus or aim, so those detectors stay silent on it.
    latest = frames[-1]
    covered, figures = detect_covered(latest, thresholds)
    measurements.update(figures)
    if black is not None:
        findings.append(black)
    elif covered is not None:
        findings.append(covered)
    else:
        findings.extend(_judge_content(frames, reference, thresholds, measurements, stall is None))
    findings.sort(key=lambda f: rank(f.status))
    status = most_severe([f.status for f in findings])
    return Analysis(status, [f.reason for f in findings], measurements)


def reference_features(image: Image) -> ReferenceFeatures:
    """Return the reference features of a BGR or grey picture the installer approved."""
    luma = shrink(image)
    return ReferenceFeatures(luma, sharpness(luma))


# A camera's snapshot is decoded whole: a few hundred kilobytes of PNG can declare 20000 x 20000
# pixels (2.3 GB decoded), so the size is read from the header first. 4096 x 4096 covers a
# 12-megapixel camera; decoded that is 50 MB.
MAX_DECODE_PIXELS = 4096 * 4096
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (C0-CF except DHT C4, JPG C8 and DAC CC) carry the picture size.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) from a PNG or JPEG header, or None for anything else."""
    if data.startswith(_PNG_MAGIC) and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if not data.startswith(b"\xff\xd8"):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker == 0xDA:  # start of scan: no frame header before it
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def decode_image(data: bytes) -> Image | None:
    """Return the picture encoded in JPEG or PNG bytes, or None when it does not decode."""
    size = image_size(data)
    if size is None or size[0] * size[1] > MAX_DECODE_PIXELS:
        return None
    buffer = np.frombuffer(data, np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    return None if image is None else np.asarray(image, np.uint8)


def thumbnail_jpeg(image: Image, max_width: int = 320, quality: int = 80) -> bytes:
    """Return the picture as a JPEG no wider than max_width."""
    height, width = image.shape[:2]
    if width > max_width:
        size = (max_width, max(1, round(height * max_width / width)))
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the picture could not be encoded as JPEG")
    return bytes(encoded.tobytes())
