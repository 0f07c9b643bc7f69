"""Answer the ONVIF device and media service operations of one simulated camera."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote
from xml.etree.ElementTree import Element as XmlElement

from sim.onvif.soap import TDS, TRT, TT, action_not_supported, child_text, invalid_arg
from sim.onvif.xmlwrite import Element, el, text_el
from sim.spec import CameraSpec, StreamSpec

# TEST-NET-3 (RFC 5737): documentation space, never routed; the simulator never connects to it.
FOREIGN_HOST = "203.0.113.7"
DEVICE_PATH = "/onvif/device_service"
MEDIA_PATH = "/onvif/media_service"
SNAPSHOT_PREFIX = "/onvif/snapshot/"
# Tashkent time, the zone the precincts' cameras are set to (POSIX sign convention).
TIME_ZONE = "UZT-5"
LOCAL_OFFSET = timedelta(hours=5)


@dataclass(frozen=True)
class DeviceContext:
    """What one operation needs: the camera, its clock now, and any hostile address overrides."""

    camera: CameraSpec
    now: datetime
    foreign_xaddrs: bool = False
    foreign_stream_uri: bool = False

    def service_url(self, path: str) -> str:
        """Return the advertised address of one of this device's services."""
        host = FOREIGN_HOST if self.foreign_xaddrs else self.camera.host
        return f"http://{host}:{self.camera.onvif_port}{path}"


Operation = Callable[[DeviceContext, XmlElement], Element]


def scopes(camera: CameraSpec) -> list[str]:
    """Return the ONVIF scope URIs a camera advertises."""
    base = "onvif://www.onvif.org"
    return [
        f"{base}/type/video_encoder",
        f"{base}/Profile/Streaming",
        f"{base}/name/{quote(camera.name, safe='')}",
        f"{base}/hardware/{quote(camera.model, safe='')}",
        f"{base}/location/{quote(camera.site, safe='')}",
    ]


def hostname(camera: CameraSpec) -> str:
    """Return the DNS-safe hostname a camera reports."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{camera.site}-{camera.name}".lower()).strip("-")[:63]


def _date_time(tag: str, moment: datetime) -> Element:
    return el(
        tag,
        el(
            "tt:Time",
            text_el("tt:Hour", moment.hour),
            text_el("tt:Minute", moment.minute),
            text_el("tt:Second", moment.second),
        ),
        el(
            "tt:Date",
            text_el("tt:Year", moment.year),
            text_el("tt:Month", moment.month),
            text_el("tt:Day", moment.day),
        ),
    )


def get_system_date_and_time(ctx: DeviceContext, _: XmlElement) -> Element:
    """Return the device's own clock (real time plus its skew)."""
    return el(
        "tds:GetSystemDateAndTimeResponse",
        el(
            "tds:SystemDateAndTime",
            text_el("tt:DateTimeType", "Manual"),
            text_el("tt:DaylightSavings", False),
            el("tt:TimeZone", text_el("tt:TZ", TIME_ZONE)),
            _date_time("tt:UTCDateTime", ctx.now),
            _date_time("tt:LocalDateTime", ctx.now + LOCAL_OFFSET),
        ),
    )


def get_device_information(ctx: DeviceContext, _: XmlElement) -> Element:
    """Return manufacturer, model, firmware, serial number and hardware id."""
    cam = ctx.camera
    return el(
        "tds:GetDeviceInformationResponse",
        text_el("tds:Manufacturer", cam.manufacturer),
        text_el("tds:Model", cam.model),
        text_el("tds:FirmwareVersion", cam.firmware),
        text_el("tds:SerialNumber", cam.serial),
        text_el("tds:HardwareId", cam.model),
    )


def _device_capabilities(ctx: DeviceContext) -> Element:
    return el(
        "tt:Device",
        text_el("tt:XAddr", ctx.service_url(DEVICE_PATH)),
        el(
            "tt:System",
            text_el("tt:DiscoveryResolve", False),
            text_el("tt:DiscoveryBye", True),
            text_el("tt:RemoteDiscovery", False),
            text_el("tt:SystemBackup", False),
            text_el("tt:SystemLogging", False),
            text_el("tt:FirmwareUpgrade", False),
            el(
                "tt:SupportedVersions",
                text_el("tt:Major", 2),
                text_el("tt:Minor", 60),
            ),
        ),
    )


def _media_capabilities(ctx: DeviceContext) -> Element:
    return el(
        "tt:Media",
        text_el("tt:XAddr", ctx.service_url(MEDIA_PATH)),
        el(
            "tt:StreamingCapabilities",
            text_el("tt:RTPMulticast", False),
            text_el("tt:RTP_TCP", True),
            text_el("tt:RTP_RTSP_TCP", True),
        ),
    )


def get_capabilities(ctx: DeviceContext, request: XmlElement) -> Element:
    """Return the Device and Media capabilities for the requested category."""
    categories = [(c.text or "").strip() for c in request.findall(f"{{{TDS}}}Category")]
    wanted = set(categories) or {"All"}
    known = {"All", "Device", "Media"}
    if not wanted <= known:
        raise action_not_supported("GetCapabilities for " + ", ".join(sorted(wanted - known)))
    device = _device_capabilities(ctx) if wanted & {"All", "Device"} else None
    media = _media_capabilities(ctx) if wanted & {"All", "Media"} else None
    return el("tds:GetCapabilitiesResponse", el("tds:Capabilities", device, media))


def get_services(ctx: DeviceContext, _: XmlElement) -> Element:
    """Return the device and media services with their addresses and versions."""
    entries = ((TDS, DEVICE_PATH), (TRT, MEDIA_PATH))
    return el(
        "tds:GetServicesResponse",
        *(
            el(
                "tds:Service",
                text_el("tds:Namespace", namespace),
                text_el("tds:XAddr", ctx.service_url(path)),
                el("tds:Version", text_el("tt:Major", 2), text_el("tt:Minor", 60)),
            )
            for namespace, path in entries
        ),
    )


def get_scopes(ctx: DeviceContext, _: XmlElement) -> Element:
    """Return the fixed scopes: type, profile, name, hardware and location."""
    return el(
        "tds:GetScopesResponse",
        *(
            el("tds:Scopes", text_el("tt:ScopeDef", "Fixed"), text_el("tt:ScopeItem", item))
            for item in scopes(ctx.camera)
        ),
    )


def get_network_interfaces(ctx: DeviceContext, _: XmlElement) -> Element:
    """Return the one wired interface: its MAC and the camera's IPv4 address."""
    cam = ctx.camera
    return el(
        "tds:GetNetworkInterfacesResponse",
        el(
            "tds:NetworkInterfaces",
            text_el("tt:Enabled", True),
            el(
                "tt:Info",
                text_el("tt:Name", "eth0"),
                text_el("tt:HwAddress", cam.mac),
                text_el("tt:MTU", 1500),
            ),
            el(
                "tt:IPv4",
                text_el("tt:Enabled", True),
                el(
                    "tt:Config",
                    el(
                        "tt:Manual",
                        text_el("tt:Address", cam.host),
                        text_el("tt:PrefixLength", 24),
                    ),
                    text_el("tt:DHCP", False),
                ),
            ),
            attrs={"token": "eth0"},
        ),
    )


def get_hostname(ctx: DeviceContext, _: XmlElement) -> Element:
    """Return the camera's hostname."""
    return el(
        "tds:GetHostnameResponse",
        el(
            "tds:HostnameInformation",
            text_el("tt:FromDHCP", False),
            text_el("tt:Name", hostname(ctx.camera)),
        ),
    )


def _stream(camera: CameraSpec, token: str | None) -> StreamSpec:
    for stream in camera.streams:
        if stream.token == token:
            return stream
    raise invalid_arg("NoProfile", "The requested profile token does not exist")


def _video_source(camera: CameraSpec) -> Element:
    main = camera.streams[0]
    return el(
        "tt:VideoSourceConfiguration",
        text_el("tt:Name", "VideoSourceConfig"),
        text_el("tt:UseCount", len(camera.streams)),
        text_el("tt:SourceToken", "source0"),
        el(
            "tt:Bounds",
            attrs={"x": "0", "y": "0", "width": str(main.width), "height": str(main.height)},
        ),
        attrs={"token": "vsconf0"},
    )


def _profile(camera: CameraSpec, stream: StreamSpec, tag: str) -> Element:
    encoder = el(
        "tt:VideoEncoderConfiguration",
        text_el("tt:Name", f"VideoEncoder_{stream.token}"),
        text_el("tt:UseCount", 1),
        text_el("tt:Encoding", "H264"),
        el(
            "tt:Resolution",
            text_el("tt:Width", stream.width),
            text_el("tt:Height", stream.height),
        ),
        text_el("tt:Quality", 4),
        el(
            "tt:RateControl",
            text_el("tt:FrameRateLimit", stream.fps),
            text_el("tt:EncodingInterval", 1),
            text_el("tt:BitrateLimit", 4096 if stream.width >= 1280 else 1024),
        ),
        el("tt:H264", text_el("tt:GovLength", stream.fps * 2), text_el("tt:H264Profile", "Main")),
        el(
            "tt:Multicast",
            el("tt:Address", text_el("tt:Type", "IPv4"), text_el("tt:IPv4Address", "0.0.0.0")),
            text_el("tt:Port", 0),
            text_el("tt:TTL", 1),
            text_el("tt:AutoStart", False),
        ),
        text_el("tt:SessionTimeout", "PT60S"),
        attrs={"token": f"venc_{stream.token}"},
    )
    return el(
        tag,
        text_el("tt:Name", f"{stream.token.capitalize()}Stream"),
        _video_source(camera),
        encoder,
        attrs={"token": stream.token, "fixed": "true"},
    )


def get_profiles(ctx: DeviceContext, _: XmlElement) -> Element:
    """Return one H.264 profile per stream of the camera (main and sub)."""
    cam = ctx.camera
    return el("trt:GetProfilesResponse", *(_profile(cam, s, "trt:Profiles") for s in cam.streams))


def get_profile(ctx: DeviceContext, request: XmlElement) -> Element:
    """Return one profile by token."""
    stream = _stream(ctx.camera, child_text(request, TRT, "ProfileToken"))
    return el("trt:GetProfileResponse", _profile(ctx.camera, stream, "trt:Profile"))


def get_video_sources(ctx: DeviceContext, _: XmlElement) -> Element:
    """Return the single video source at the main stream's resolution."""
    main = ctx.camera.streams[0]
    return el(
        "trt:GetVideoSourcesResponse",
        el(
            "trt:VideoSources",
            text_el("tt:Framerate", float(main.fps)),
            el("tt:Resolution", text_el("tt:Width", main.width), text_el("tt:Height", main.height)),
            attrs={"token": "source0"},
        ),
    )


def _media_uri(tag: str, uri: str) -> Element:
    return el(
        tag,
        el(
            "tt:MediaUri",
            text_el("tt:Uri", uri),
            text_el("tt:InvalidAfterConnect", False),
            text_el("tt:InvalidAfterReboot", False),
            text_el("tt:Timeout", "PT0S"),
        ),
    )


def get_stream_uri(ctx: DeviceContext, request: XmlElement) -> Element:
    """Return the credential-free RTSP URI of a profile."""
    stream = _stream(ctx.camera, child_text(request, TRT, "ProfileToken"))
    setup = request.find(f"{{{TRT}}}StreamSetup")
    if setup is not None:
        kind = child_text(setup, TT, "Stream")
        if kind not in (None, "RTP-Unicast"):
            raise invalid_arg("InvalidStreamSetup", "Only RTP-Unicast streaming is supported")
    cam = ctx.camera
    uri = cam.stream_url(stream.token)
    if ctx.foreign_stream_uri:
        uri = f"rtsp://{FOREIGN_HOST}:554{cam.path}/{stream.token}"
    return _media_uri("trt:GetStreamUriResponse", uri)


def get_snapshot_uri(ctx: DeviceContext, request: XmlElement) -> Element:
    """Return the HTTP address of a profile's JPEG snapshot."""
    stream = _stream(ctx.camera, child_text(request, TRT, "ProfileToken"))
    cam = ctx.camera
    uri = f"http://{cam.host}:{cam.onvif_port}{SNAPSHOT_PREFIX}{stream.token}.jpg"
    return _media_uri("trt:GetSnapshotUriResponse", uri)


DEVICE_OPERATIONS: dict[str, Operation] = {
    "GetSystemDateAndTime": get_system_date_and_time,
    "GetDeviceInformation": get_device_information,
    "GetCapabilities": get_capabilities,
    "GetServices": get_services,
    "GetScopes": get_scopes,
    "GetNetworkInterfaces": get_network_interfaces,
    "GetHostname": get_hostname,
}

MEDIA_OPERATIONS: dict[str, Operation] = {
    "GetProfiles": get_profiles,
    "GetProfile": get_profile,
    "GetVideoSources": get_video_sources,
    "GetStreamUri": get_stream_uri,
    "GetSnapshotUri": get_snapshot_uri,
}

# (service path, operation namespace) -> operations; ONVIF allows no cross-service calls here.
SERVICES: dict[str, tuple[str, dict[str, Operation]]] = {
    DEVICE_PATH: (TDS, DEVICE_OPERATIONS),
    MEDIA_PATH: (TRT, MEDIA_OPERATIONS),
}

# Operations that answer without authentication, as the ONVIF core spec's PRE_AUTH class
# allows; this device is strict and lets only the clock through, as many cameras do.
UNAUTHENTICATED = frozenset({"GetSystemDateAndTime"})
