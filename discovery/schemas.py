"""JSON documents of discovery: the report for scripts, and devices submitted to the API.

The API route ``POST /api/v1/sites/{code}/devices`` accepts a ``DeviceBatchIn`` (devices an
installer's laptop interrogated on site) and answers a ``DeviceBatchOut``; it should call
``register_submission`` so the server re-checks every address instead of trusting the laptop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from discovery.addresses import AddressRefused, check_url
from discovery.model import DeviceFacts, DeviceReport, DiscoveryReport, Outcome, ProfileFacts
from discovery.registry import RegistrationResult, register_devices

Text120 = Annotated[str, Field(max_length=120)]
Uri = Annotated[str, Field(max_length=1000)]
MAX_DEVICES = 512


class ProfileIn(BaseModel):
    """One media profile of an interrogated device; the stream URI carries no credentials."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(max_length=200)] | None = None
    encoding: Annotated[str, Field(max_length=20)] | None = None
    width: Annotated[int, Field(gt=0, le=100_000)] | None = None
    height: Annotated[int, Field(gt=0, le=100_000)] | None = None
    fps: Annotated[float, Field(gt=0, le=1000)] | None = None
    stream_uri: Uri | None = None


class DeviceIn(BaseModel):
    """An interrogated ONVIF device, as the CLI's remote mode submits it."""

    model_config = ConfigDict(extra="forbid")

    host: Annotated[str, Field(min_length=1, max_length=255)]
    onvif_address: Annotated[str, Field(min_length=1, max_length=500)]
    endpoint_uuid: Annotated[str, Field(max_length=100)] | None = None
    name: Text120 | None = None
    manufacturer: Text120 | None = None
    model: Text120 | None = None
    firmware: Text120 | None = None
    serial: Text120 | None = None
    hardware_id: Text120 | None = None
    mac: Annotated[str, Field(max_length=17)] | None = None
    location: Annotated[str, Field(max_length=200)] | None = None
    clock_skew_s: Annotated[float, Field(ge=-1e10, le=1e10)] | None = None
    snapshot_uri: Uri | None = None
    profiles: Annotated[list[ProfileIn], Field(max_length=16)] = []
    main_profile_token: Annotated[str, Field(max_length=100)] | None = None
    check_profile_token: Annotated[str, Field(max_length=100)] | None = None
    username: Text120 | None = Field(None, description="The login that worked (never a password)")

    @classmethod
    def from_facts(cls, facts: DeviceFacts) -> DeviceIn:
        """Return the submission form of interrogated facts."""
        return cls(
            host=facts.host,
            onvif_address=facts.onvif_address,
            endpoint_uuid=facts.endpoint_uuid,
            name=facts.name,
            manufacturer=facts.manufacturer,
            model=facts.model,
            firmware=facts.firmware,
            serial=facts.serial,
            hardware_id=facts.hardware_id,
            mac=facts.mac,
            location=facts.location,
            clock_skew_s=facts.clock_skew_s,
            snapshot_uri=facts.snapshot_uri,
            profiles=[ProfileIn(**vars(p)) for p in facts.profiles],
            main_profile_token=facts.main_profile_token,
            check_profile_token=facts.check_profile_token,
            username=facts.username,
        )

    def to_facts(self) -> DeviceFacts:
        """Return the facts to register (credential resolved by username at the site)."""
        data = self.model_dump(exclude={"profiles"})
        profiles = tuple(ProfileFacts(**p.model_dump()) for p in self.profiles)
        return DeviceFacts(**data, profiles=profiles)


class DeviceBatchIn(BaseModel):
    """Devices to register at one site; ``move`` takes cameras over from other sites."""

    model_config = ConfigDict(extra="forbid")

    devices: Annotated[list[DeviceIn], Field(max_length=MAX_DEVICES)]
    move: bool = False


class RegistrationOut(BaseModel):
    """What registration did with one submitted device."""

    host: str
    endpoint_uuid: str | None = None
    outcome: Outcome
    reason: str
    camera_id: int | None = None
    camera_name: str | None = None
    registered_site: str | None = None


class DeviceBatchOut(BaseModel):
    """The per-device results of a submission, in submission order."""

    site: str
    results: list[RegistrationOut]


def _recheck(device: DeviceIn, network: str | None) -> str | None:
    """Return why a submitted device's addresses are refused, or None when they are fine."""
    http, rtsp = frozenset({"http", "https"}), frozenset({"rtsp", "rtsps"})
    try:
        check_url(device.onvif_address, device.host, network, http)
        if device.snapshot_uri:
            check_url(device.snapshot_uri, device.host, network, http)
        for profile in device.profiles:
            if profile.stream_uri:
                check_url(profile.stream_uri, device.host, network, rtsp)
    except AddressRefused as exc:
        return str(exc)
    return None


def register_submission(
    sessions: sessionmaker[Session], site_code: str, batch: DeviceBatchIn
) -> DeviceBatchOut:
    """Re-check and register submitted devices, one transaction each (SiteNotFound if no site)."""
    from camfleet.sites import get_site

    with sessions() as session:
        network = get_site(session, site_code).network
    results: list[RegistrationOut] = []
    for device in batch.devices:
        refusal = _recheck(device, network)
        if refusal is not None:
            result = RegistrationResult(Outcome.REFUSED_ADDRESS, f"address refused: {refusal}")
        else:
            # Credentials in a submitted URI are never stored: check_url strips them.
            (result,) = register_devices(
                sessions, site_code, [_stripped(device, network).to_facts()], move=batch.move
            )
        results.append(
            RegistrationOut(
                host=device.host,
                endpoint_uuid=device.endpoint_uuid,
                outcome=result.outcome,
                reason=result.reason,
                camera_id=result.camera_id,
                camera_name=result.camera_name,
                registered_site=result.registered_site,
            )
        )
    return DeviceBatchOut(site=site_code, results=results)


def _stripped(device: DeviceIn, network: str | None) -> DeviceIn:
    rtsp = frozenset({"rtsp", "rtsps"})
    profiles = [
        p.model_copy(
            update={
                "stream_uri": check_url(p.stream_uri, device.host, network, rtsp)
                if p.stream_uri
                else None
            }
        )
        for p in device.profiles
    ]
    return device.model_copy(update={"profiles": profiles})


class DeviceReportOut(BaseModel):
    """One device of a discovery report, for scripts (no secrets)."""

    host: str
    xaddr: str | None
    via: str
    outcome: str
    reason_code: str
    reason: str
    endpoint: str | None = None
    name: str | None = None
    clock_skew_s: float | None = None
    camera_id: int | None = None
    camera_name: str | None = None
    registered_site: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    mac: str | None = None
    profiles: list[ProfileIn] = []
    main_profile_token: str | None = None
    check_profile_token: str | None = None

    @classmethod
    def from_report(cls, device: DeviceReport) -> DeviceReportOut:
        """Return the JSON form of one device report."""
        facts = device.facts
        return cls(
            host=device.host,
            xaddr=device.xaddr,
            via=device.via.value,
            outcome=device.outcome.value if device.outcome else "interrogated",
            reason_code=device.reason_code,
            reason=device.reason,
            endpoint=device.endpoint,
            name=device.name,
            clock_skew_s=device.clock_skew_s,
            camera_id=device.camera_id,
            camera_name=device.camera_name,
            registered_site=device.registered_site,
            manufacturer=facts.manufacturer if facts else None,
            model=facts.model if facts else None,
            serial=facts.serial if facts else None,
            mac=facts.mac if facts else None,
            profiles=[ProfileIn(**vars(p)) for p in facts.profiles] if facts else [],
            main_profile_token=facts.main_profile_token if facts else None,
            check_profile_token=facts.check_profile_token if facts else None,
        )


class DiscoveryReportOut(BaseModel):
    """A discovery run as one JSON document: devices, then expected versus found."""

    site: str
    started_at: datetime
    finished_at: datetime | None
    dry_run: bool
    expected: int | None
    found: int
    short: bool
    devices: list[DeviceReportOut]

    @classmethod
    def from_report(cls, report: DiscoveryReport) -> DiscoveryReportOut:
        """Return the JSON form of a report."""
        return cls(
            site=report.site.code,
            started_at=report.started_at,
            finished_at=report.finished_at,
            dry_run=report.dry_run,
            expected=report.site.expected_cameras,
            found=report.found,
            short=report.short,
            devices=[DeviceReportOut.from_report(d) for d in report.devices],
        )
