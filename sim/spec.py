"""Parse a precinct description file (TOML) into the simulator's camera specifications."""

from __future__ import annotations

import ipaddress
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Picture kinds: the feed is served and decodes; its content is the fault (or not).
# sim.scenes renders them in this order (a kind's index seeds its picture).
PICTURE_KINDS = (
    "live",
    "static",
    "night",
    "black",
    "frozen",
    "frozen_clock",
    "covered",
    "defocused",
    "moved",
)
PICTURE_FEEDS = frozenset(PICTURE_KINDS)
# Transport kinds: the fault is in how the RTSP server behaves.
TRANSPORT_FEEDS = frozenset({"stall", "hang", "unauthorized", "not_found", "refused"})
FEEDS = PICTURE_FEEDS | TRANSPORT_FEEDS

# Stable namespace for endpoint UUIDs derived from site code and camera name.
_UUID_NS = uuid.UUID("6b1f0d4e-3c1a-4f8e-9a51-2f7d9f3c0a11")


class SpecError(ValueError):
    """A precinct description file is invalid."""


@dataclass(frozen=True)
class StreamSpec:
    """One media profile of a simulated camera."""

    token: str
    width: int
    height: int
    fps: int


MAIN = StreamSpec("main", 1280, 720, 15)
SUB = StreamSpec("sub", 640, 360, 10)


@dataclass(frozen=True)
class CameraSpec:
    """One simulated camera: its address, feed kind, credentials and identity."""

    site: str
    name: str
    feed: str
    host: str
    rtsp_port: int
    onvif_port: int
    username: str
    password: str
    clock_skew_s: float = 0.0
    onvif: bool = True
    stall_after_s: float = 3.0
    manufacturer: str = "Camsim"
    model: str = "CS-2000"
    firmware: str = "1.0.0"
    serial: str = ""
    mac: str = ""
    endpoint_uuid: str = ""
    streams: tuple[StreamSpec, ...] = (MAIN, SUB)

    @property
    def path(self) -> str:
        """Return the RTSP path prefix of this camera (without the stream token)."""
        return f"/{self.site}/{self.name}"

    def stream_url(self, token: str) -> str:
        """Return the credential-free RTSP URL of one of this camera's streams."""
        return f"rtsp://{self.host}:{self.rtsp_port}{self.path}/{token}"

    @property
    def xaddr(self) -> str:
        """Return the ONVIF device service address."""
        return f"http://{self.host}:{self.onvif_port}/onvif/device_service"


@dataclass(frozen=True)
class PrecinctSpec:
    """Every simulated camera of a description file, grouped by site code."""

    cameras: tuple[CameraSpec, ...]
    site_names: dict[str, str] = field(default_factory=dict)

    def site(self, code: str) -> tuple[CameraSpec, ...]:
        """Return the cameras of one site."""
        return tuple(c for c in self.cameras if c.site == code)

    def camera(self, site: str, name: str) -> CameraSpec:
        """Return one camera by site code and name."""
        for cam in self.cameras:
            if cam.site == site and cam.name == name:
                return cam
        raise KeyError(f"{site}/{name}")


def _str(table: dict[str, Any], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise SpecError(f"{key} must be a string")
    return value


def _num(table: dict[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{key} must be a number")
    return float(value)


def parse_spec(data: dict[str, Any], host_base: str | None = None) -> PrecinctSpec:
    """Build a PrecinctSpec from a parsed TOML document.

    Hosts not given explicitly are allocated sequentially from ``defaults.host_base``
    (default 127.0.20.1), one address per camera, so each simulated camera is a host of
    its own, as on a precinct network.
    """
    defaults = data.get("defaults", {})
    base = ipaddress.IPv4Address(host_base or _str(defaults, "host_base", "127.0.20.1"))
    rtsp_port = int(_num(defaults, "rtsp_port", 8554))
    onvif_port = int(_num(defaults, "onvif_port", 8080))
    d_user = _str(defaults, "username", "admin")
    d_pass = _str(defaults, "password", "camsim-pass")
    cameras: list[CameraSpec] = []
    names: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    index = 0
    for site in data.get("sites", []):
        code = _str(site, "code", "")
        if not code:
            raise SpecError("every site needs a code")
        names[code] = _str(site, "name", code)
        for cam in site.get("cameras", []):
            name = _str(cam, "name", "")
            if not name or "/" in name:
                raise SpecError(f"site {code}: camera name missing or contains '/'")
            if (code, name) in seen:
                raise SpecError(f"site {code}: camera {name} declared twice")
            seen.add((code, name))
            feed = _str(cam, "feed", "live")
            if feed not in FEEDS:
                raise SpecError(f"{code}/{name}: unknown feed {feed!r}; known: {sorted(FEEDS)}")
            host = _str(cam, "host", str(base + index))
            index += 1
            ident = uuid.uuid5(_UUID_NS, f"{code}/{name}")
            mac_bytes = ident.bytes[:5]
            cameras.append(
                CameraSpec(
                    site=code,
                    name=name,
                    feed=feed,
                    host=host,
                    rtsp_port=int(_num(cam, "rtsp_port", rtsp_port)),
                    onvif_port=int(_num(cam, "onvif_port", onvif_port)),
                    username=_str(cam, "username", d_user),
                    password=_str(cam, "password", d_pass),
                    clock_skew_s=_num(cam, "clock_skew_s", 0.0),
                    onvif=bool(cam.get("onvif", True)),
                    stall_after_s=_num(cam, "stall_after_s", 3.0),
                    manufacturer=_str(cam, "manufacturer", "Camsim"),
                    model=_str(cam, "model", "CS-2000"),
                    firmware=_str(cam, "firmware", "1.0.0"),
                    serial=_str(cam, "serial", f"CS{ident.int % 10**10:010d}"),
                    mac=_str(cam, "mac", "02:" + ":".join(f"{b:02x}" for b in mac_bytes)),
                    endpoint_uuid=_str(cam, "endpoint_uuid", f"urn:uuid:{ident}"),
                )
            )
    if not cameras:
        raise SpecError("the description declares no cameras")
    return PrecinctSpec(cameras=tuple(cameras), site_names=names)


def load_spec(path: Path, host_base: str | None = None) -> PrecinctSpec:
    """Read and parse a precinct description file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from exc
    return parse_spec(data, host_base)
