"""Which advertised addresses discovery accepts, and the small parsers around them."""

from __future__ import annotations

import pytest

from discovery.addresses import (
    AddressRefused,
    check_url,
    parse_host_port,
    split_credentials,
    strip_credentials,
    sweep_hosts,
)
from discovery.model import ProfileFacts
from discovery.streams import choose_profiles, normalise_encoding

RTSP = frozenset({"rtsp", "rtsps"})


def test_the_devices_own_host_is_accepted() -> None:
    url = "rtsp://10.21.105.11:554/Streaming/Channels/101"
    assert check_url(url, "10.21.105.11", None, RTSP) == url


def test_an_address_inside_the_site_network_is_accepted() -> None:
    url = "rtsp://10.21.105.200/live"
    assert check_url(url, "10.21.105.11", "10.21.105.0/24", RTSP) == url


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://203.0.113.7:554/live",
        "rtsp://10.21.106.11/live",
        "rtsp://camera.example/live",
        "http://10.21.105.11/live",
        "rtsp:///live",
        "rtsp://10.21.105.11:99999/live",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(AddressRefused):
        check_url(url, "10.21.105.11", "10.21.105.0/24", RTSP)


def test_credentials_never_survive_a_check() -> None:
    url = "rtsp://admin:s3cret@10.21.105.11:554/live?x=1"
    checked = check_url(url, "10.21.105.11", None, RTSP)
    assert checked == "rtsp://10.21.105.11:554/live?x=1"
    assert strip_credentials("rtsp://u@[fe80::1]:554/a") == "rtsp://[fe80::1]:554/a"
    assert split_credentials("rtsp://ad%40min:p%3Ass@10.0.0.1/a") == (
        "rtsp://10.0.0.1/a",
        "ad@min",
        "p:ss",
    )


def test_sweeps_are_capped_at_a_slash_22() -> None:
    assert len(sweep_hosts("10.21.105.0/24")) == 254
    assert len(sweep_hosts("10.21.104.0/22")) == 1022
    assert sweep_hosts("10.21.105.7/32") == ["10.21.105.7"]
    for too_big in ("10.21.0.0/21", "10.0.0.0/8", "fe80::/120", "nonsense"):
        with pytest.raises(ValueError):
            sweep_hosts(too_big)


def test_host_port_parsing() -> None:
    assert parse_host_port("10.0.0.5", 80) == ("10.0.0.5", 80)
    assert parse_host_port("10.0.0.5:8080", 80) == ("10.0.0.5", 8080)
    assert parse_host_port("[fe80::1]:8000", 80) == ("fe80::1", 8000)
    assert parse_host_port("Camera.Local", 80) == ("camera.local", 80)
    for bad in ("", "10.0.0.5:0", "10.0.0.5:x", "user@10.0.0.5", "10.0.0.5:70000"):
        with pytest.raises(ValueError):
            parse_host_port(bad, 80)


def _profile(token: str, w: int, h: int, enc: str = "H264", uri: bool = True) -> ProfileFacts:
    return ProfileFacts(token, None, enc, w, h, 10.0, f"rtsp://h/{token}" if uri else None)


def test_main_is_the_largest_and_check_the_smallest_h26x() -> None:
    profiles = [
        _profile("sub", 640, 360),
        _profile("main", 1920, 1080, "H265"),
        _profile("mjpeg", 320, 240, "JPEG"),
        _profile("third", 1280, 720),
    ]
    assert choose_profiles(profiles) == ("main", "sub")


def test_profiles_without_streams_or_h26x_fall_back() -> None:
    assert choose_profiles([_profile("a", 640, 360, uri=False)]) == (None, None)
    assert choose_profiles([_profile("j", 640, 480, "JPEG")]) == ("j", "j")
    assert choose_profiles([_profile("x", 0, 0), _profile("y", 0, 0)]) == ("x", "x")


def test_encoding_spellings() -> None:
    assert normalise_encoding("h.264") == "H264"
    assert normalise_encoding("HEVC") == "H265"
    assert normalise_encoding(" jpeg ") == "JPEG"
    assert normalise_encoding(None) is None
