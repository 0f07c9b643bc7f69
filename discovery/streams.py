"""Choose a camera's viewing and health-check profiles from its media profiles."""

from __future__ import annotations

from collections.abc import Sequence

from discovery.model import ProfileFacts

_CHECKABLE = {"H264": "H264", "H.264": "H264", "AVC": "H264", "H265": "H265", "H.265": "H265"}
_CHECKABLE["HEVC"] = "H265"


def normalise_encoding(value: str | None) -> str | None:
    """Return H264/H265 for the spellings devices use, else the upper-cased value."""
    if not value:
        return None
    upper = value.strip().upper()
    return _CHECKABLE.get(upper, upper[:20])


def _pixels(profile: ProfileFacts) -> int:
    return (profile.width or 0) * (profile.height or 0)


def choose_profiles(profiles: Sequence[ProfileFacts]) -> tuple[str | None, str | None]:
    """Return the main (highest resolution) and check (lowest-resolution H.264/H.265) tokens."""
    streamable = [p for p in profiles if p.stream_uri]
    if not streamable:
        return None, None
    # max/min keep the first of equals, so the device's own order breaks ties.
    main = max(streamable, key=_pixels)
    checkable = [p for p in streamable if normalise_encoding(p.encoding) in ("H264", "H265")]
    check = min(checkable, key=_pixels) if checkable else main
    return main.token, check.token
