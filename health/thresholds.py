"""Tunable limits of the frame detectors, with defaults and validated per-camera overrides."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any


def _limit(default: float, bounds: tuple[float, float], doc: str) -> Any:
    """Declare a threshold field with its inclusive valid range and its documentation."""
    return field(default=default, metadata={"low": bounds[0], "high": bounds[1], "doc": doc})


@dataclass(frozen=True)
class Thresholds:
    """Every limit the detectors apply; luma levels are fractions of the 0-255 range."""

    black_pixel_level: float = _limit(
        0.10,
        (0.0, 0.5),
        "A pixel darker than this fraction of the luma range counts as black "
        "(ffmpeg blackdetect pix_th).",
    )
    black_picture_share: float = _limit(
        0.98,
        (0.5, 1.0),
        "A picture whose share of black pixels reaches this is black (blackdetect pic_th).",
    )
    frozen_cell_change: float = _limit(
        0.6,
        (0.0, 50.0),
        "Mean absolute luma change (grey levels, analysis size) above which one cell of the "
        "change grid counts as changed between two sampled frames.",
    )
    frozen_pair_spread: float = _limit(
        0.10,
        (0.0, 1.0),
        "Share of grid cells outside the on-screen-display region that must change for a frame "
        "pair to show the picture is live; a ticking clock alone stays below it.",
    )
    frozen_live_pairs: float = _limit(
        0.5,
        (0.0, 1.0),
        "The feed is frozen when the share of live frame pairs stays below this (a re-encoded "
        "keyframe of a frozen picture changes one pair, sensor noise changes every pair).",
    )
    osd_left: float = _limit(
        0.0, (0.0, 1.0), "Left edge of the on-screen-display region (fraction)."
    )
    osd_top: float = _limit(0.0, (0.0, 1.0), "Top edge of the on-screen-display region (fraction).")
    osd_right: float = _limit(
        0.5, (0.0, 1.0), "Right edge of the on-screen-display region (fraction)."
    )
    osd_bottom: float = _limit(
        0.125, (0.0, 1.0), "Bottom edge of the on-screen-display region (fraction)."
    )
    covered_max_contrast: float = _limit(
        12.0,
        (0.0, 128.0),
        "A picture whose luma standard deviation (grey levels) stays at or below this, with "
        "almost no edges, is covered.",
    )
    covered_max_edges: float = _limit(
        0.01,
        (0.0, 1.0),
        "Share of pixels with a visible edge at or below which a low-contrast picture is covered.",
    )
    blur_min_ratio: float = _limit(
        0.55,
        (0.0, 1.0),
        "The picture is blurred when its sharpness falls below this fraction of the "
        "reference frame's sharpness.",
    )
    blur_min_sharpness: float = _limit(
        0.8,
        (0.0, 100.0),
        "Absolute sharpness floor used when the camera has no reference frame "
        "(0 disables the check without a reference).",
    )
    view_min_similarity: float = _limit(
        0.6,
        (-1.0, 1.0),
        "The view has changed when the edge-structure correlation with the reference frame "
        "falls below this.",
    )
    view_shift_tolerance: float = _limit(
        2.0,
        (0.0, 8.0),
        "Shift (pixels at analysis size, 160x90) the view may move, e.g. by mast sway, and "
        "still match the reference.",
    )
    min_fps_ratio: float = _limit(
        0.75,
        (0.0, 1.0),
        "The feed is degraded when measured fps falls below this share of the profile's.",
    )
    min_resolution_ratio: float = _limit(
        0.95,
        (0.0, 1.0),
        "The feed is degraded when width or height falls below this share of the profile's.",
    )
    max_clock_skew_s: float = _limit(
        5.0,
        (0.0, 86400.0),
        "The camera is degraded when its clock is off by this many seconds or more.",
    )

    def with_overrides(self, overrides: Mapping[str, float]) -> Thresholds:
        """Return a copy with per-camera overrides applied; raise ValueError on a bad one."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, float] = {}
        for name, value in overrides.items():
            spec = known.get(name)
            if spec is None:
                raise ValueError(
                    f"unknown threshold {name!r}; known thresholds: {', '.join(sorted(known))}"
                )
            # Overrides come from stored JSON: a wrong type is bad input, reported like a bad value.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"threshold {name!r} must be a number, not {value!r}")  # noqa: TRY004
            low, high = spec.metadata["low"], spec.metadata["high"]
            if not math.isfinite(value) or not low <= value <= high:
                raise ValueError(f"threshold {name!r}={value!r} is outside [{low}, {high}]")
            changes[name] = float(value)
        result = replace(self, **changes)
        if result.osd_left > result.osd_right or result.osd_top > result.osd_bottom:
            raise ValueError("the on-screen-display region has its edges crossed")
        return result

    @staticmethod
    def describe() -> dict[str, dict[str, Any]]:
        """Return every threshold's default, valid range and meaning."""
        return {
            f.name: {
                "default": f.default,
                "low": f.metadata["low"],
                "high": f.metadata["high"],
                "doc": f.metadata["doc"],
            }
            for f in fields(Thresholds)
        }
