"""Interrogate one ONVIF device: clock, login, identity, services, profiles and stream addresses."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# Re-exported: callers build and pass the core's Login (repr hides the password).
from camfleet.credentials import Login as Login
from camfleet.timeutil import utcnow
from discovery.addresses import AddressRefused, check_url
from discovery.errors import (
    ActionNotSupported,
    ClockSkew,
    DeviceError,
    DeviceFault,
    NotAuthorized,
    NotOnvif,
    RefusedAddress,
    Unreachable,
)
from discovery.model import Candidate, DeviceFacts, ProfileFacts, scope_value
from discovery.onvif_client import (
    MEDIA_NS,
    Credentials,
    Limits,
    OnvifSession,
    device_utc,
)
from discovery.streams import choose_profiles, normalise_encoding

HTTP_SCHEMES = frozenset({"http", "https"})
RTSP_SCHEMES = frozenset({"rtsp", "rtsps"})
MAX_PROFILES = 16
_MAC = re.compile(r"^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Optional operations: a device without them is registered without the field.
_OPTIONAL = (ActionNotSupported, DeviceFault)


@dataclass(frozen=True)
class InterrogationOptions:
    """Bounds of one interrogation."""

    call_timeout_s: float = 5.0
    max_reply_bytes: int = 2_000_000
    max_auth_attempts: int = 3
    network: str | None = None

    @property
    def device_budget_s(self) -> float:
        """Return the overall deadline for one device, start to finish."""
        return self.call_timeout_s * 8 + 2.0


def clean(value: object, limit: int = 120) -> str | None:
    """Return a device-supplied string without control characters, trimmed and capped."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text[:limit] or None


def normalise_mac(value: object) -> str | None:
    """Return a MAC address as aa:bb:cc:dd:ee:ff, or None when it is not one."""
    text = (clean(value, 40) or "").lower()
    if not _MAC.match(text):
        return None
    digits = re.sub(r"[^0-9a-f]", "", text)
    if digits == "0" * 12:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


async def interrogate(
    candidate: Candidate, logins: Sequence[Login], options: InterrogationOptions
) -> DeviceFacts:
    """Return what the device is and how to stream from it, or raise a DeviceError."""
    limits = Limits(options.call_timeout_s, options.max_reply_bytes)
    try:
        async with asyncio.timeout(options.device_budget_s), OnvifSession(limits) as session:
            return await _Interrogation(candidate, session, options).run(logins)
    except TimeoutError:
        raise Unreachable("timeout", "device did not finish answering in time") from None


class _Interrogation:
    """One interrogation's state: the candidate, its session and the measured skew."""

    def __init__(
        self, candidate: Candidate, session: OnvifSession, options: InterrogationOptions
    ) -> None:
        self.candidate = candidate
        self.host = candidate.host
        self.session = session
        self.options = options
        self.skew_s: float | None = None

    async def device(self, operation: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call an operation of the device service."""
        return await self.session.call("devicemgmt", self.candidate.xaddr, operation, params)

    async def run(self, logins: Sequence[Login]) -> DeviceFacts:
        """Interrogate the device step by step and return its facts."""
        try:
            await self.measure_clock()
            login, info = await self.log_in(logins)
            media = await self.media_address()
            mac = await self.mac()
            profiles = await self.profiles(media)
            snapshot = await self.snapshot(media, profiles)
        except DeviceError as exc:
            exc.clock_skew_s = self.skew_s
            raise
        main, check = choose_profiles(profiles)
        scopes = self.candidate.scopes
        serial = clean(_get(info, "SerialNumber"))
        model = clean(_get(info, "Model"))
        name = clean(scope_value(scopes, "name")) or _fallback_name(model, serial, self.host)
        return DeviceFacts(
            host=self.host,
            onvif_address=self.candidate.xaddr,
            endpoint_uuid=clean(self.candidate.endpoint, 100),
            name=name,
            manufacturer=clean(_get(info, "Manufacturer")),
            model=model,
            firmware=clean(_get(info, "FirmwareVersion")),
            serial=serial,
            hardware_id=clean(_get(info, "HardwareId")),
            mac=mac,
            location=clean(scope_value(scopes, "location"), 200),
            clock_skew_s=self.skew_s,
            snapshot_uri=snapshot,
            profiles=tuple(profiles),
            main_profile_token=main,
            check_profile_token=check,
            username=login.username if login else None,
            credential_id=login.credential_id if login else None,
        )

    async def measure_clock(self) -> None:
        """Read the device clock unauthenticated and sign later calls with its offset."""
        sent = time.monotonic()
        try:
            reply = await self.session.call(
                "devicemgmt", self.candidate.xaddr, "GetSystemDateAndTime", authenticated=False
            )
        except (NotAuthorized, *_OPTIONAL):
            return  # the clock stays unknown; login decides
        received = time.monotonic()
        device_now = device_utc(reply)
        if device_now is None:
            return
        # The device reports whole seconds (truncated, so half a second early on average);
        # compare with our clock at the middle of the call.
        ours = utcnow() - timedelta(seconds=(received - sent) / 2)
        offset = device_now + timedelta(seconds=0.5) - ours
        self.skew_s = float(round(offset.total_seconds()))
        self.session.clock_offset = offset

    async def log_in(self, logins: Sequence[Login]) -> tuple[Login | None, Any]:
        """Return the first login the device accepts and its device information."""
        attempts: list[Login | None] = list(logins[: self.options.max_auth_attempts]) or [None]
        codes = set()
        for login in attempts:
            self.session.credentials = (
                Credentials(login.username, login.password) if login else None
            )
            try:
                return login, await self.device("GetDeviceInformation")
            except NotAuthorized as exc:
                codes.add(exc.code)
        tried = len(attempts) if attempts != [None] else 0
        if not tried:
            raise NotAuthorized("no_credentials", "device needs a login; no candidate credentials")
        if codes == {"http_auth"}:
            # HTTP authentication has no timestamps: the clock cannot be the cause.
            raise NotAuthorized(
                "http_auth", "device demands HTTP authentication (only WS-Security is used)"
            )
        if self.skew_s is None:
            raise ClockSkew(
                "clock_unreadable",
                f"{tried} credential(s) refused and the device clock could not be read "
                "to compensate for skew",
            )
        note = f" (device clock {self.skew_s:+.0f} s, compensated)" if abs(self.skew_s) >= 5 else ""
        raise NotAuthorized("credentials_refused", f"{tried} credential(s) refused{note}")

    async def media_address(self) -> str:
        """Return the media service address (GetServices, else GetCapabilities), checked."""
        address: str | None = None
        try:
            services = await self.device("GetServices", {"IncludeCapability": False})
            for service in services or []:
                if clean(_get(service, "Namespace"), 200) == MEDIA_NS:
                    address = clean(_get(service, "XAddr"), 500)
                    break
        except _OPTIONAL:
            address = None
        if address is None:
            try:
                caps = await self.device("GetCapabilities", {"Category": "Media"})
                address = clean(_get(caps, "Media", "XAddr"), 500)
            except _OPTIONAL:
                address = None
        if address is None:
            raise NotOnvif("no_media_service", "device advertises no media service")
        return self.allowed(address, HTTP_SCHEMES, "foreign_service_address", "media service")

    def allowed(self, url: str, schemes: frozenset[str], code: str, what: str) -> str:
        """Return the URL without credentials if allowed, or raise RefusedAddress."""
        try:
            return check_url(url, self.host, self.options.network, schemes)
        except AddressRefused as exc:
            raise RefusedAddress(code, f"{what} address refused: {exc}") from None

    async def mac(self) -> str | None:
        """Return the MAC of the first enabled interface, if the device tells."""
        try:
            interfaces = await self.device("GetNetworkInterfaces")
        except _OPTIONAL:
            return None
        for interface in interfaces or []:
            if _get(interface, "Enabled") is False:
                continue
            mac = normalise_mac(_get(interface, "Info", "HwAddress"))
            if mac:
                return mac
        return None

    async def media(self, address: str, operation: str, params: Mapping[str, Any]) -> Any:
        """Call an operation of the media service."""
        return await self.session.call("media", address, operation, params)

    async def profiles(self, address: str) -> list[ProfileFacts]:
        """Return the media profiles with their checked stream URIs."""
        raw = await self.media(address, "GetProfiles", {})
        profiles: list[ProfileFacts] = []
        for item in (raw or [])[:MAX_PROFILES]:
            token = clean(_get(item, "token"), 100)
            if not token:
                continue
            encoder = _get(item, "VideoEncoderConfiguration")
            uri = await self.stream_uri(address, token)
            profiles.append(
                ProfileFacts(
                    token=token,
                    name=clean(_get(item, "Name"), 200),
                    encoding=normalise_encoding(clean(_get(encoder, "Encoding"), 20)),
                    width=_int(_get(encoder, "Resolution", "Width")),
                    height=_int(_get(encoder, "Resolution", "Height")),
                    fps=_float(_get(encoder, "RateControl", "FrameRateLimit")),
                    stream_uri=uri,
                )
            )
        if not profiles:
            raise NotOnvif("no_profiles", "device has no media profiles")
        return profiles

    async def stream_uri(self, address: str, token: str) -> str | None:
        """Return a profile's RTSP URI (checked, without credentials), or None."""
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        try:
            reply = await self.media(
                address, "GetStreamUri", {"StreamSetup": setup, "ProfileToken": token}
            )
        except _OPTIONAL:
            return None
        uri = clean(_get(reply, "Uri"), 1000)
        if not uri:
            return None
        return self.allowed(uri, RTSP_SCHEMES, "foreign_stream_uri", f"stream of profile {token}")

    async def snapshot(self, address: str, profiles: Sequence[ProfileFacts]) -> str | None:
        """Return the main profile's snapshot URI (checked), or None."""
        main, _ = choose_profiles(profiles)
        token = main or profiles[0].token
        try:
            reply = await self.media(address, "GetSnapshotUri", {"ProfileToken": token})
        except _OPTIONAL:
            return None
        uri = clean(_get(reply, "Uri"), 1000)
        if not uri:
            return None
        return self.allowed(uri, HTTP_SCHEMES, "foreign_snapshot_uri", "snapshot")


def _int(value: object) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 100_000 else None


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 1000 else None


def _fallback_name(model: str | None, serial: str | None, host: str) -> str:
    if serial:
        return f"{model or 'camera'}-{serial[-8:]}"[:120]
    return f"camera-{host}"[:120]
