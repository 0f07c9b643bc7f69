"""The simulated pictures: each kind has the statistics its fault implies."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sim import scenes

W, H = 640, 360


def grey(frame: np.ndarray) -> np.ndarray:
    """Return a picture's luma as float."""
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)


def clock_mask(width: int = W, height: int = H) -> np.ndarray:
    """Return True outside the clock box."""
    x, y, w, h = scenes.clock_region(width, height)
    mask = np.ones((height, width), bool)
    mask[y : y + h, x : x + w] = False
    return mask


def sharpness(frame: np.ndarray) -> float:
    """Return the Laplacian variance of a picture."""
    return float(cv2.Laplacian(grey(frame), cv2.CV_32F).var())


@pytest.mark.parametrize("kind", scenes.KINDS)
@pytest.mark.parametrize(("width", "height"), [(640, 360), (1280, 720)])
def test_every_kind_renders_bgr_of_the_asked_size(kind: str, width: int, height: int) -> None:
    frame = scenes.render(kind, width, height, 1.25)
    assert frame.shape == (height, width, 3)
    assert frame.dtype == np.uint8


@pytest.mark.parametrize("kind", scenes.KINDS)
def test_rendering_is_deterministic_in_time_and_seed(kind: str) -> None:
    first = scenes.render(kind, W, H, 2.3, seed=5)
    again = scenes.render(kind, W, H, 2.3, seed=5)
    assert np.array_equal(first, again)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown picture kind"):
        scenes.render("bogus", W, H, 0.0)


def test_clock_text_ticks_each_second() -> None:
    assert scenes.clock_text(0.0) == "07:59:30"
    assert scenes.clock_text(0.99) == "07:59:30"
    assert scenes.clock_text(31.0) == "08:00:01"


def test_live_scene_moves_and_clock_ticks() -> None:
    a, b = grey(scenes.render("live", W, H, 1.0)), grey(scenes.render("live", W, H, 2.0))
    assert 90 < a.mean() < 190
    assert a.std() > 30
    assert np.abs(a - b)[clock_mask()].mean() > 2
    x, y, w, h = scenes.clock_region(W, H)
    assert np.abs(a - b)[y : y + h, x : x + w].max() > 100


def test_static_has_only_noise_and_clock() -> None:
    frames = [grey(scenes.render("static", W, H, t)) for t in (1.0, 1.1, 4.0)]
    outside = clock_mask()
    noise = np.abs(frames[0] - frames[1])[outside]
    assert 0.5 < noise.mean() < 6
    # Nothing moves: a large share of pixels barely change over seconds.
    assert (np.abs(frames[0] - frames[2])[outside] > 25).mean() < 0.002


def test_night_is_dark_but_not_black() -> None:
    a, b = grey(scenes.render("night", W, H, 1.0)), grey(scenes.render("night", W, H, 1.1))
    assert 15 < a.mean() < 45
    assert (a < 0.10 * 255).mean() < 0.9
    assert np.abs(a - b).mean() > 1


def test_black_is_black() -> None:
    frame = grey(scenes.render("black", W, H, 3.0))
    assert frame.mean() < 10
    assert (frame < 0.10 * 255).mean() > 0.99


def test_frozen_never_changes() -> None:
    first = scenes.render("frozen", W, H, 0.0)
    assert all(np.array_equal(first, scenes.render("frozen", W, H, t)) for t in (0.5, 3.0, 9.9))


def test_frozen_clock_changes_only_in_the_clock() -> None:
    a = grey(scenes.render("frozen_clock", W, H, 1.0))
    b = grey(scenes.render("frozen_clock", W, H, 2.0))
    diff = np.abs(a - b)
    assert diff[clock_mask()].max() == 0
    assert diff.max() > 100


def test_covered_is_flat_and_not_black() -> None:
    frame = grey(scenes.render("covered", W, H, 1.0))
    assert 50 < frame.mean() < 150
    assert frame.std() < 10
    assert sharpness(scenes.render("covered", W, H, 1.0)) < 0.05 * sharpness(
        scenes.render("live", W, H, 1.0)
    )


def test_defocused_loses_detail() -> None:
    live = sharpness(scenes.render("live", W, H, 1.0))
    assert sharpness(scenes.render("defocused", W, H, 1.0)) < 0.1 * live
    assert grey(scenes.render("defocused", W, H, 1.0)).std() > 20


def test_moved_differs_from_the_reference_far_more_than_live() -> None:
    ref = grey(scenes.reference(W, H))
    live = np.abs(grey(scenes.render("live", W, H, 0.0)) - ref)[clock_mask()].mean()
    moved = np.abs(grey(scenes.render("moved", W, H, 0.0)) - ref)[clock_mask()].mean()
    assert live < 4
    assert moved > 5 * live
    assert moved > 15


def test_reference_is_the_noise_free_live_scene() -> None:
    ref = scenes.reference(W, H)
    assert ref.shape == (H, W, 3)
    assert np.array_equal(ref, scenes.reference(W, H))
