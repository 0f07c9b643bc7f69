"""What discovery finds and decides: candidates, interrogated devices, per-device outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import unquote


class Outcome(StrEnum):
    """The result of one device in a discovery run."""

    REGISTERED = "registered"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    AUTH_FAILED = "auth_failed"
    CLOCK_SKEW = "clock_skew"
    UNREACHABLE = "unreachable"
    NOT_ONVIF = "not_onvif"
    CONFLICT = "conflict"
    REFUSED_ADDRESS = "refused_address"


# Outcomes that leave the device registered to the site it was discovered at.
REGISTERED_OUTCOMES = frozenset({Outcome.REGISTERED, Outcome.UPDATED, Outcome.UNCHANGED})


class Via(StrEnum):
    """How a candidate device was found."""

    MULTICAST = "multicast"
    UNICAST = "unicast"
    SWEEP = "sweep"


@dataclass(frozen=True)
class ProbeMatch:
    """One WS-Discovery ProbeMatch, as the device described itself (untrusted)."""

    endpoint: str
    xaddrs: tuple[str, ...]
    types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    metadata_version: int | None = None

    @property
    def scope_name(self) -> str | None:
        """Return the device name from its onvif://www.onvif.org/name/ scope."""
        return scope_value(self.scopes, "name")

    @property
    def scope_hardware(self) -> str | None:
        """Return the hardware model from its scopes."""
        return scope_value(self.scopes, "hardware")

    @property
    def scope_location(self) -> str | None:
        """Return the location from its scopes."""
        return scope_value(self.scopes, "location")


def scope_value(scopes: tuple[str, ...], kind: str) -> str | None:
    """Return the decoded value of the first onvif://www.onvif.org/<kind>/ scope."""
    prefix = f"onvif://www.onvif.org/{kind}/"
    for scope in scopes:
        if scope.lower().startswith(prefix):
            value = unquote(scope[len(prefix) :]).strip().strip("/")
            return value[:200] or None
    return None


@dataclass(frozen=True)
class Candidate:
    """A device to interrogate: where its device service is and what it said about itself."""

    host: str
    xaddr: str
    via: Via
    endpoint: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Return the deduplication key: the endpoint UUID, else the device service address."""
        return (self.endpoint or self.xaddr).lower()


@dataclass(frozen=True)
class ProfileFacts:
    """One media profile as interrogated; the stream URI carries no credentials."""

    token: str
    name: str | None = None
    encoding: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    stream_uri: str | None = None


@dataclass(frozen=True)
class DeviceFacts:
    """Everything interrogation learned about a device that is to be registered."""

    host: str
    onvif_address: str
    endpoint_uuid: str | None = None
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    hardware_id: str | None = None
    mac: str | None = None
    location: str | None = None
    clock_skew_s: float | None = None
    snapshot_uri: str | None = None
    profiles: tuple[ProfileFacts, ...] = ()
    main_profile_token: str | None = None
    check_profile_token: str | None = None
    username: str | None = None
    credential_id: int | None = None


@dataclass(frozen=True)
class DeviceReport:
    """One device of a discovery run: how it was found, what it is, and its outcome."""

    host: str
    xaddr: str | None
    via: Via
    # None: interrogated and ready to register, not registered yet.
    outcome: Outcome | None
    reason_code: str
    reason: str
    endpoint: str | None = None
    facts: DeviceFacts | None = None
    clock_skew_s: float | None = None
    camera_id: int | None = None
    camera_name: str | None = None
    registered_site: str | None = None
    # The name the device gave itself in its WS-Discovery scopes (untrusted, cleaned).
    name: str | None = None


@dataclass(frozen=True)
class SiteTarget:
    """The precinct being discovered: its code, network and expected camera count."""

    code: str
    network: str | None = None
    expected_cameras: int | None = None


@dataclass
class DiscoveryReport:
    """A discovery run at one site: every device with its outcome, and the count check."""

    site: SiteTarget
    started_at: datetime
    finished_at: datetime | None = None
    devices: list[DeviceReport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def found(self) -> int:
        """Return how many devices of this run are registered (or would be) to this site."""
        return sum(1 for d in self.devices if d.outcome in REGISTERED_OUTCOMES)

    @property
    def short(self) -> bool:
        """Return True when the site has fewer cameras than expected."""
        expected = self.site.expected_cameras
        return expected is not None and self.found < expected
