"""Frame detectors on generated pictures: every status, each side of every threshold."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from health.analysis import (
    ANALYSIS_HEIGHT,
    ANALYSIS_WIDTH,
    Frame,
    ReferenceFeatures,
    StreamExpectation,
    analyse,
    decode_image,
    detect_black,
    detect_blur,
    detect_covered,
    detect_degraded,
    detect_frozen,
    detect_view_change,
    reference_features,
    thumbnail_jpeg,
)
from health.status import Status
from health.thresholds import Thresholds
from sim import scenes

W, H, FPS = 640, 360, 10
T = Thresholds()
EXPECT = StreamExpectation(W, H, FPS)
SIZE = ANALYSIS_WIDTH * ANALYSIS_HEIGHT


def feed(kind: str, count: int = 7, t0: float = 5.0, step: float = 0.2) -> list[Frame]:
    """Return frames sampled from a simulated feed, as capture would (pts, sequence numbers)."""
    out = []
    for i in range(count):
        t = t0 + i * step
        out.append(Frame.from_image(scenes.render(kind, W, H, t), i * 2 + 1, t))
    return out


def small_frames(pictures: list[np.ndarray], step: float = 0.2) -> list[Frame]:
    """Return frames built from analysis-size pictures."""
    return [Frame.from_image(p, i * 2 + 1, i * step) for i, p in enumerate(pictures)]


@pytest.fixture(scope="module")
def reference() -> ReferenceFeatures:
    return reference_features(scenes.reference(W, H))


# --- the whole analysis on every simulated picture kind ---------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("live", Status.OK),
        ("static", Status.OK),
        ("night", Status.OK),
        ("black", Status.BLACK),
        ("frozen", Status.FROZEN),
        ("frozen_clock", Status.FROZEN),
        ("covered", Status.COVERED),
        ("defocused", Status.BLURRED),
        ("moved", Status.VIEW_CHANGED),
    ],
)
def test_every_feed_kind_gets_its_status(
    kind: str, status: Status, reference: ReferenceFeatures
) -> None:
    result = analyse(feed(kind), EXPECT, reference, T)
    assert result.status is status, result
    assert (result.reasons == []) == (status is Status.OK)
    if status is not Status.OK:
        assert result.reasons[0].code == status.value
    json.dumps(result.measurements)  # flat and JSON-serialisable


@pytest.mark.parametrize("kind", ["live", "static", "night", "frozen"])
def test_good_feeds_pass_without_reference(kind: str) -> None:
    result = analyse(feed(kind), EXPECT, None, T)
    expected = Status.FROZEN if kind == "frozen" else Status.OK
    assert result.status is expected, result


def test_no_frames_is_no_video() -> None:
    result = analyse([], EXPECT, None, T)
    assert result.status is Status.NO_VIDEO
    assert result.reasons[0].code == "no_frames"


def test_frames_with_one_timestamp_are_a_stalled_stream() -> None:
    frames = [Frame.from_image(scenes.render("live", W, H, 5.0), i, 7.5) for i in range(1, 5)]
    result = analyse(frames, EXPECT, None, T)
    assert result.status is Status.NO_VIDEO
    assert result.reasons[0].code == "stalled"


def test_reasons_come_most_severe_first(reference: ReferenceFeatures) -> None:
    expected = StreamExpectation(1920, 1080, 25, clock_skew_s=30.0)
    result = analyse(feed("moved"), expected, reference, T)
    assert result.status is Status.VIEW_CHANGED
    codes = [r.code for r in result.reasons]
    assert codes[0] == "view_changed"
    assert {"low_fps", "low_resolution", "clock_skew"} <= set(codes)


# --- black --------------------------------------------------------------------------------------


def picture_with_dark_share(dark: int) -> np.ndarray:
    """Return an analysis-size picture with exactly `dark` pixels at the black level."""
    flat = np.full(SIZE, 120, np.uint8)
    flat[:dark] = 25  # 0.10 x 255 = 25.5: at the level, counted as black
    return np.random.default_rng(3).permutation(flat).reshape(ANALYSIS_HEIGHT, ANALYSIS_WIDTH)


@pytest.mark.parametrize(("share", "black"), [(0.979, False), (0.981, True), (0.98, True)])
def test_black_picture_share_threshold(share: float, black: bool) -> None:
    frames = small_frames([picture_with_dark_share(math.ceil(share * SIZE))] * 3)
    found, figures = detect_black(frames, T)
    assert (found is not None) == black
    assert figures["black_share"] == pytest.approx(share, abs=1e-4)


@pytest.mark.parametrize(("level", "black"), [(25, True), (26, False)])
def test_black_pixel_level_threshold(level: int, black: bool) -> None:
    picture = np.full((ANALYSIS_HEIGHT, ANALYSIS_WIDTH), level, np.uint8)
    found, _ = detect_black(small_frames([picture] * 3), T)
    assert (found is not None) == black


def test_black_judges_the_median_frame() -> None:
    dark = np.full((ANALYSIS_HEIGHT, ANALYSIS_WIDTH), 3, np.uint8)
    lit = np.full((ANALYSIS_HEIGHT, ANALYSIS_WIDTH), 90, np.uint8)
    assert detect_black(small_frames([dark, lit, dark, dark]), T)[0] is not None
    assert detect_black(small_frames([lit, dark, lit, lit]), T)[0] is None


def test_dark_live_night_room_is_not_black() -> None:
    frames = feed("night")
    found, figures = detect_black(frames, T)
    assert found is None
    assert 20 <= figures["luma_mean"] <= 40
    assert figures["black_share"] < 0.6


def test_black_reason_names_the_share() -> None:
    found, _ = detect_black(feed("black", 3), T)
    assert found is not None
    assert found.reason.code == "black"
    assert "100.0 % of pixels darker than 0.10 of the luma range" in found.reason.message


# --- frozen -------------------------------------------------------------------------------------


def noisy(base: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Return base plus Gaussian noise."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, base.shape)
    return np.clip(base.astype(np.float32) + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def room() -> np.ndarray:
    return cv2.cvtColor(scenes.render("static", W, H, 0.0), cv2.COLOR_BGR2GRAY)


def test_bit_identical_frames_are_frozen(room: np.ndarray) -> None:
    found, figures = detect_frozen(small_frames([room] * 7), T)
    assert found is not None
    assert figures["frozen_live_share"] == 0
    assert found.reason.code == "frozen"


def test_static_room_with_sensor_noise_is_not_frozen(room: np.ndarray) -> None:
    # Sensor noise of 3 grey levels (full resolution) is tiny but present in every frame.
    frames = small_frames([noisy(room, 3.0, seed) for seed in range(7)])
    found, figures = detect_frozen(frames, T)
    assert found is None, figures
    assert figures["frozen_live_share"] == 1.0


def test_frozen_picture_with_ticking_clock_is_frozen() -> None:
    frames = feed("frozen_clock", count=7, t0=4.5, step=0.2)  # the clock ticks at 5.0 and 6.0
    found, figures = detect_frozen(frames, T)
    assert found is not None, figures


def test_clock_outside_the_osd_region_is_still_frozen(room: np.ndarray) -> None:
    pictures = []
    for i in range(7):
        picture = room.copy()
        cv2.putText(
            picture, f"12:00:0{i}", (520, 345), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 255, 1, cv2.LINE_AA
        )
        pictures.append(picture)
    found, figures = detect_frozen(small_frames(pictures), T)
    assert found is not None, figures
    assert figures["change_spread_max"] < T.frozen_pair_spread


def test_keyframe_refresh_of_frozen_picture_is_still_frozen(room: np.ndarray) -> None:
    # A re-encoded keyframe changes the whole picture slightly, once in the window.
    refreshed = noisy(room, 1.0, 9)
    frames = small_frames([room, room, room, refreshed, refreshed, refreshed, refreshed])
    assert detect_frozen(frames, T)[0] is not None


def test_moving_people_are_not_frozen() -> None:
    found, figures = detect_frozen(feed("live"), T)
    assert found is None
    assert figures["frozen_live_share"] == 1.0


def test_too_few_frames_give_no_frozen_verdict(room: np.ndarray) -> None:
    found, figures = detect_frozen(small_frames([room, room]), T)
    assert found is None
    assert figures == {"frozen_pairs": 1}


def spread_pictures(cells: int) -> list[np.ndarray]:
    """Return 3 pictures whose consecutive pairs change exactly `cells` grid cells."""
    base = np.full((ANALYSIS_HEIGHT, ANALYSIS_WIDTH), 100, np.uint8)
    pictures = [base]
    for step in (1, 2):
        picture = base.copy()
        for n in range(cells):
            row, col = 8 - n // 16, n % 16  # bottom rows first, away from the OSD region
            picture[row * 10 : row * 10 + 10, col * 10 : col * 10 + 10] = 100 + 10 * step
        pictures.append(picture)
    return pictures


def test_pair_spread_threshold() -> None:
    # 128 grid cells lie outside the default OSD region; 10 % of them is 12.8 cells.
    assert detect_frozen(small_frames(spread_pictures(12)), T)[0] is not None
    assert detect_frozen(small_frames(spread_pictures(13)), T)[0] is None


@pytest.mark.parametrize(("changed", "frozen"), [(59, True), (61, False)])
def test_cell_change_threshold(changed: int, frozen: bool) -> None:
    # In every 10 x 10 cell the same `changed` pixels flip by one grey level between frames,
    # so each cell's mean change is changed / 100 against the 0.6 threshold.
    cell = np.zeros(100, np.uint8)
    cell[:changed] = 1
    flip = np.tile(cell.reshape(10, 10), (ANALYSIS_HEIGHT // 10, ANALYSIS_WIDTH // 10))
    base = np.full((ANALYSIS_HEIGHT, ANALYSIS_WIDTH), 100, np.uint8)
    frames = small_frames([base, base + flip, base, base + flip])
    found, figures = detect_frozen(frames, T)
    assert figures["change_mean_max"] == pytest.approx(changed / 100, abs=1e-4)
    assert (found is not None) == frozen


@pytest.mark.parametrize(("live_pairs", "frozen"), [(2, True), (3, False)])
def test_live_pair_share_threshold(room: np.ndarray, live_pairs: int, frozen: bool) -> None:
    # Six pairs; the feed is frozen while fewer than half of them show change.
    pictures = [room]
    for i in range(6):
        pictures.append(noisy(room, 3.0, i) if i < live_pairs else pictures[-1])
    assert (detect_frozen(small_frames(pictures), T)[0] is not None) == frozen


# --- covered ------------------------------------------------------------------------------------


def test_covered_lens_is_covered_and_night_room_is_not() -> None:
    covered, _ = detect_covered(feed("covered", 1)[0], T)
    assert covered is not None
    night, figures = detect_covered(feed("night", 1)[0], T)
    assert night is None
    assert figures["contrast"] < 1.5 * T.covered_max_contrast  # dim, yet full of edges
    assert figures["edge_share"] > 10 * T.covered_max_edges


def test_covered_contrast_threshold() -> None:
    frame = feed("covered", 1)[0]
    contrast = detect_covered(frame, T)[1]["contrast"]
    assert detect_covered(frame, T.with_overrides({"covered_max_contrast": contrast + 0.01}))[0]
    assert not detect_covered(frame, T.with_overrides({"covered_max_contrast": contrast - 0.01}))[0]


def test_covered_edge_threshold() -> None:
    picture = np.full((ANALYSIS_HEIGHT, ANALYSIS_WIDTH), 100, np.uint8)
    picture[40:50, 20:21] = 108  # one thin mark: a few edge pixels on a uniform field
    frame = small_frames([picture])[0]
    edges = detect_covered(frame, T)[1]["edge_share"]
    assert 0 < edges < T.covered_max_edges
    assert detect_covered(frame, T.with_overrides({"covered_max_edges": edges}))[0] is not None
    assert detect_covered(frame, T.with_overrides({"covered_max_edges": edges * 0.99}))[0] is None


def test_covered_picture_is_not_also_called_frozen() -> None:
    picture = np.full((ANALYSIS_HEIGHT, ANALYSIS_WIDTH), 100, np.uint8)
    result = analyse(small_frames([picture] * 7), StreamExpectation(), None, T)
    assert result.status is Status.COVERED
    assert [r.code for r in result.reasons] == ["covered"]


# --- blurred ------------------------------------------------------------------------------------


def test_defocused_is_blurred_against_reference(reference: ReferenceFeatures) -> None:
    found, figures = detect_blur(feed("defocused", 1)[0], reference, T)
    assert found is not None
    assert figures["sharpness_ratio"] < 0.4


@pytest.mark.parametrize("kind", ["live", "static", "night"])
def test_sharp_feeds_are_not_blurred(kind: str, reference: ReferenceFeatures) -> None:
    found, figures = detect_blur(feed(kind, 1)[0], reference, T)
    assert found is None
    assert figures["sharpness_ratio"] > 0.8


def test_sharpness_does_not_depend_on_lighting() -> None:
    live = scenes.render("live", W, H, 5.0)
    bright = detect_blur(Frame.from_image(live), None, T)[1]["sharpness"]
    dim = Frame.from_image(np.clip(live * 0.35, 0, 255).astype(np.uint8))
    assert detect_blur(dim, None, T)[1]["sharpness"] == pytest.approx(bright, rel=0.15)


def test_blur_ratio_threshold(reference: ReferenceFeatures) -> None:
    frame = feed("defocused", 1)[0]
    ratio = float(detect_blur(frame, reference, T)[1]["sharpness_ratio"])
    below = T.with_overrides({"blur_min_ratio": ratio + 0.01})
    above = T.with_overrides({"blur_min_ratio": ratio - 0.01})
    assert detect_blur(frame, reference, below)[0] is not None
    assert detect_blur(frame, reference, above)[0] is None


def test_blur_floor_without_reference() -> None:
    defocused, live = feed("defocused", 1)[0], feed("live", 1)[0]
    assert detect_blur(defocused, None, T)[0] is not None
    assert detect_blur(live, None, T)[0] is None
    assert detect_blur(defocused, None, T.with_overrides({"blur_min_sharpness": 0}))[0] is None


# --- view changed -------------------------------------------------------------------------------


def test_defocused_camera_keeps_its_view(reference: ReferenceFeatures) -> None:
    found, figures = detect_view_change(feed("defocused"), reference, T)
    assert found is None
    assert figures["view_similarity"] >= 0.7


def test_passers_by_in_one_frame_do_not_change_the_view(reference: ReferenceFeatures) -> None:
    frames = feed("live", 3)
    crowd = scenes.render("live", W, H, 5.0)
    crowd[60:, :] = (40, 40, 160)  # someone right in front of the lens in the latest frame
    frames.append(Frame.from_image(crowd, 9, 5.8))
    assert detect_view_change(frames[-1:], reference, T)[0] is not None
    assert detect_view_change(frames, reference, T)[0] is None


def test_moved_camera_changes_the_view(reference: ReferenceFeatures) -> None:
    found, figures = detect_view_change(feed("moved"), reference, T)
    assert found is not None
    assert figures["view_similarity"] < 0.3


@pytest.mark.parametrize(
    ("gain", "offset"), [(1.0, 0.0), (0.3, 0.0), (0.15, 6.0), (1.3, 25.0), (0.6, 40.0)]
)
def test_same_view_in_other_light_matches(
    gain: float, offset: float, reference: ReferenceFeatures
) -> None:
    live = scenes.render("live", W, H, 5.0).astype(np.float32)
    lit = noisy(np.clip(live * gain + offset, 0, 255), 2.0, 1)
    found, figures = detect_view_change([Frame.from_image(lit)], reference, T)
    assert found is None, figures
    assert figures["view_similarity"] >= 0.65


def test_night_mode_matches_daylight_reference(reference: ReferenceFeatures) -> None:
    found, figures = detect_view_change(feed("night"), reference, T)
    assert found is None
    assert figures["view_similarity"] >= 0.65


def shifted(picture: np.ndarray, dx: float, dy: float, angle: float = 0.0) -> np.ndarray:
    """Return the picture moved by (dx, dy) pixels and turned by angle degrees."""
    height, width = picture.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    matrix[0, 2] += dx
    matrix[1, 2] += dy
    return np.asarray(
        cv2.warpAffine(picture, matrix, (width, height), borderMode=cv2.BORDER_REFLECT_101)
    )


def test_small_sway_matches_and_a_pan_does_not(reference: ReferenceFeatures) -> None:
    live = scenes.render("live", W, H, 0.0)
    sway = [Frame.from_image(shifted(live, 6, -4))]  # 1.5 and 1 pixels at analysis size
    pan = [Frame.from_image(shifted(live, 40, 0))]  # 6 % of the width
    turn = [Frame.from_image(shifted(live, 0, 0, 6.0))]
    assert detect_view_change(sway, reference, T)[0] is None
    assert detect_view_change(pan, reference, T)[0] is not None
    assert detect_view_change(turn, reference, T)[0] is not None


def test_view_similarity_threshold(reference: ReferenceFeatures) -> None:
    frame = feed("live", 1)
    score = float(detect_view_change(frame, reference, T)[1]["view_similarity"])
    strict = T.with_overrides({"view_min_similarity": score + 0.01})
    loose = T.with_overrides({"view_min_similarity": score - 0.01})
    assert detect_view_change(frame, reference, strict)[0] is not None
    assert detect_view_change(frame, reference, loose)[0] is None


# --- degraded -----------------------------------------------------------------------------------


def frames_at(fps: float, width: int = W, height: int = H, count: int = 7) -> list[Frame]:
    """Return frames whose sequence numbers and pts imply the given frame rate."""
    picture = np.zeros((height, width), np.uint8)
    return [Frame.from_image(picture, 1 + 2 * i, 2 * i / fps) for i in range(count)]


@pytest.mark.parametrize(("fps", "low"), [(7.4, True), (7.6, False), (10.0, False)])
def test_fps_ratio_threshold(fps: float, low: bool) -> None:
    found, figures = detect_degraded(frames_at(fps), StreamExpectation(fps=10), T)
    assert figures["fps"] == pytest.approx(fps, abs=0.01)
    assert [f.reason.code for f in found] == (["low_fps"] if low else [])


@pytest.mark.parametrize(("width", "low"), [(608, False), (607, True)])
def test_resolution_ratio_threshold(width: int, low: bool) -> None:
    found, _ = detect_degraded(frames_at(10, width=width), StreamExpectation(W, H, 10), T)
    assert [f.reason.code for f in found] == (["low_resolution"] if low else [])


@pytest.mark.parametrize(("skew", "off"), [(4.9, False), (5.0, True), (-5.0, True)])
def test_clock_skew_threshold(skew: float, off: bool) -> None:
    found, figures = detect_degraded(frames_at(10), StreamExpectation(clock_skew_s=skew), T)
    assert [f.reason.code for f in found] == (["clock_skew"] if off else [])
    assert figures["clock_skew_s"] == skew


def test_degraded_is_a_warning_status() -> None:
    frames = feed("live")
    result = analyse(frames, StreamExpectation(1280, 720, 15), None, T)
    assert result.status is Status.DEGRADED
    assert {r.code for r in result.reasons} == {"low_fps", "low_resolution"}


# --- reference, thumbnail, thresholds -----------------------------------------------------------


def test_reference_round_trips_through_bytes(reference: ReferenceFeatures) -> None:
    blob = reference.to_bytes()
    assert len(blob) < 16_000
    again = ReferenceFeatures.from_bytes(blob)
    assert np.array_equal(again.luma, reference.luma)
    assert again.sharpness == reference.sharpness


@pytest.mark.parametrize("blob", [b"", b"CFR1", b"XXXX" + bytes(40), b"CFR1" + bytes(12) + b"junk"])
def test_reference_rejects_foreign_bytes(blob: bytes) -> None:
    with pytest.raises(ValueError, match="reference blob"):
        ReferenceFeatures.from_bytes(blob)


def test_reference_from_thumbnail_matches_reference_from_frame() -> None:
    picture = scenes.reference(1280, 720)
    jpeg = thumbnail_jpeg(picture)
    decoded = decode_image(jpeg)
    assert decoded is not None
    assert decoded.shape == (180, 320, 3)
    frame = Frame.from_image(scenes.render("live", 1280, 720, 0.0))
    found, figures = detect_view_change([frame], reference_features(decoded), T)
    assert found is None
    assert figures["view_similarity"] > 0.8


def test_decode_image_rejects_garbage() -> None:
    assert decode_image(b"") is None
    assert decode_image(b"not a picture") is None


def test_thresholds_overrides_are_validated() -> None:
    assert T.with_overrides({"black_picture_share": 0.9}).black_picture_share == 0.9
    with pytest.raises(ValueError, match="unknown threshold 'blackness'"):
        T.with_overrides({"blackness": 0.5})
    with pytest.raises(ValueError, match=r"outside \[0.5, 1.0\]"):
        T.with_overrides({"black_picture_share": 1.5})
    with pytest.raises(ValueError, match="must be a number"):
        T.with_overrides({"black_picture_share": True})
    with pytest.raises(ValueError, match="outside"):
        T.with_overrides({"max_clock_skew_s": math.nan})
    with pytest.raises(ValueError, match="crossed"):
        T.with_overrides({"osd_left": 0.8, "osd_right": 0.2})


def test_every_threshold_is_documented_within_its_range() -> None:
    described = Thresholds.describe()
    assert len(described) >= 15
    for name, entry in described.items():
        assert entry["low"] <= entry["default"] <= entry["high"], name
        assert len(entry["doc"]) > 20, name


def _png_bomb(width: int, height: int) -> bytes:
    """Return a small PNG that decodes to width x height black pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_decode_image_refuses_pictures_too_large_to_decode() -> None:
    bomb = _png_bomb(12_000, 12_000)
    assert len(bomb) < 1_000_000  # well under the snapshot byte cap
    assert decode_image(bomb) is None
    ok, jpeg = cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))
    assert ok
    data = bytearray(jpeg.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (30_000).to_bytes(2, "big") * 2
    assert decode_image(bytes(data)) is None
    assert decode_image(_png_bomb(640, 360)) is not None
    assert decode_image(jpeg.tobytes()) is not None
