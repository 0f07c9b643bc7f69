"""Discover the ONVIF cameras of one site: probe, deduplicate, interrogate (no storage here)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from camfleet.timeutil import utcnow
from discovery import sweep, wsd
from discovery.addresses import host_allowed, parse_host_port, sweep_hosts, url_host
from discovery.errors import DeviceError
from discovery.interrogate import InterrogationOptions, Login, clean, interrogate
from discovery.model import (
    Candidate,
    DeviceReport,
    DiscoveryReport,
    Outcome,
    SiteTarget,
    Via,
    scope_value,
)
from discovery.onvif_client import preload_documents
from discovery.registry import RegistrationResult

DEVICE_PATH = "/onvif/device_service"
DEFAULT_ONVIF_PORT = 80
SWEEP_PORTS = (80, 8080)


@dataclass(frozen=True)
class DiscoveryRequest:
    """Where to look: multicast on an interface, listed hosts, and/or a small subnet."""

    multicast: bool = True
    interface: str | None = None
    hosts: tuple[str, ...] = ()
    subnet: str | None = None
    timeout_s: float = 3.0
    sweep_ports: tuple[int, ...] = SWEEP_PORTS
    concurrency: int = 8


def _device_xaddr(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{DEVICE_PATH}"


def _candidate_from(heard: wsd.Heard, via: Via, network: str | None) -> Candidate | DeviceReport:
    """Return a candidate using the XAddr on the replying host, or a refusal."""
    match = heard.match
    usable = [x for x in match.xaddrs if x.lower().startswith(("http://", "https://"))]
    for preferred in (True, False):
        for xaddr in usable:
            host = url_host(xaddr)
            if host is None:
                continue
            if host == heard.source if preferred else host_allowed(host, heard.source, network):
                return Candidate(host, xaddr, via, match.endpoint or None, match.scopes)
    return DeviceReport(
        host=heard.source,
        xaddr=match.xaddrs[0][:500] if match.xaddrs else None,
        via=via,
        outcome=Outcome.REFUSED_ADDRESS,
        reason_code="foreign_xaddr",
        reason="the device advertises its service on another host; not contacted",
        endpoint=match.endpoint[:100] or None,
        name=clean(match.scope_name),
    )


def _sort_key(report: DeviceReport) -> tuple[int, int, str]:
    try:
        ip = ipaddress.ip_address(report.host)
    except ValueError:
        return (99, 0, report.host)
    return (ip.version, int(ip), "")


async def gather_candidates(
    request: DiscoveryRequest, network: str | None
) -> tuple[list[Candidate], list[DeviceReport]]:
    """Probe as asked and return the deduplicated candidates, plus refusals already decided."""
    listed = [parse_host_port(h, DEFAULT_ONVIF_PORT) for h in request.hosts]
    swept = sweep_hosts(request.subnet) if request.subnet else []
    jobs: list[asyncio.Future[list[wsd.Heard]]] = []
    vias: list[Via] = []
    if request.multicast:
        jobs.append(
            asyncio.ensure_future(
                wsd.probe_multicast(timeout_s=request.timeout_s, interface=request.interface)
            )
        )
        vias.append(Via.MULTICAST)
    if listed:
        hosts = [h for h, _ in listed]
        jobs.append(
            asyncio.ensure_future(
                wsd.probe_hosts(hosts, timeout_s=request.timeout_s, wait_all=True)
            )
        )
        vias.append(Via.UNICAST)
    if swept:
        jobs.append(asyncio.ensure_future(wsd.probe_hosts(swept, timeout_s=request.timeout_s)))
        vias.append(Via.SWEEP)
    # The port scan runs alongside the probes, for the hosts that ignore WS-Discovery.
    port_scan = (
        asyncio.ensure_future(
            sweep.open_ports(swept, request.sweep_ports, timeout_s=min(request.timeout_s, 2.0))
        )
        if swept
        else None
    )
    heard_lists = await asyncio.gather(*jobs)
    open_pairs = await port_scan if port_scan is not None else []

    candidates: dict[str, Candidate] = {}
    refused: dict[str, DeviceReport] = {}
    for via, heard_list in zip(vias, heard_lists, strict=True):
        for heard in heard_list:
            found = _candidate_from(heard, via, network)
            if isinstance(found, DeviceReport):
                refused.setdefault((found.endpoint or found.host).lower(), found)
            else:
                candidates.setdefault(found.key, found)
    known_hosts = {c.host for c in candidates.values()} | {r.host for r in refused.values()}
    # Listed hosts that did not answer WS-Discovery are asked directly on their ONVIF port.
    for host, port in listed:
        if host not in known_hosts:
            direct = Candidate(host, _device_xaddr(host, port), Via.UNICAST)
            candidates.setdefault(direct.key, direct)
            known_hosts.add(host)
    for host, port in open_pairs:
        if host not in known_hosts:
            direct = Candidate(host, _device_xaddr(host, port), Via.SWEEP)
            candidates.setdefault(direct.key, direct)
            known_hosts.add(host)
    return list(candidates.values()), list(refused.values())


async def _examine(
    candidate: Candidate,
    logins: Sequence[Login],
    options: InterrogationOptions,
    gate: asyncio.Semaphore,
) -> DeviceReport:
    async with gate:
        try:
            facts = await interrogate(candidate, logins, options)
        except DeviceError as exc:
            return DeviceReport(
                host=candidate.host,
                xaddr=candidate.xaddr,
                via=candidate.via,
                outcome=exc.outcome,
                reason_code=exc.code,
                reason=exc.message,
                endpoint=candidate.endpoint,
                clock_skew_s=exc.clock_skew_s,
                name=clean(scope_value(candidate.scopes, "name")),
            )
    return DeviceReport(
        host=candidate.host,
        xaddr=candidate.xaddr,
        via=candidate.via,
        outcome=None,
        reason_code="interrogated",
        reason="interrogated",
        endpoint=facts.endpoint_uuid,
        facts=facts,
        clock_skew_s=facts.clock_skew_s,
        name=facts.name,
    )


def _drop_duplicates(reports: list[DeviceReport]) -> list[DeviceReport]:
    """Keep one report per device found at several addresses (same serial or MAC)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for report in reports:
        facts = report.facts
        keys: list[tuple[str, str]] = []
        if facts is not None:
            if facts.endpoint_uuid:
                keys.append(("uuid", facts.endpoint_uuid.lower()))
            if facts.manufacturer and facts.serial:
                keys.append(("serial", f"{facts.manufacturer}\0{facts.serial}"))
            if facts.mac:
                keys.append(("mac", facts.mac))
        if any(k in seen for k in keys):
            continue
        seen.update(keys)
        kept.append(report)
    return kept


async def discover_site(
    site: SiteTarget,
    logins: Sequence[Login],
    request: DiscoveryRequest,
    options: InterrogationOptions,
) -> DiscoveryReport:
    """Find and interrogate the site's devices; registration is a separate step."""
    report = DiscoveryReport(site=site, started_at=utcnow())
    options = replace(options, network=site.network)
    # Parse the WSDLs while the probes collect replies; a failure shows up per device later.
    warm = asyncio.ensure_future(preload_documents())
    candidates, refused = await gather_candidates(request, site.network)
    with contextlib.suppress(Exception):
        await warm
    gate = asyncio.Semaphore(request.concurrency)
    examined = await asyncio.gather(*(_examine(c, logins, options, gate) for c in candidates))
    report.devices = sorted(_drop_duplicates([*examined, *refused]), key=_sort_key)
    report.finished_at = utcnow()
    return report


def apply_registrations(
    report: DiscoveryReport, results: Sequence[RegistrationResult]
) -> DiscoveryReport:
    """Return the report with each interrogated device's registration outcome filled in."""
    pending = iter(results)
    devices = []
    for device in report.devices:
        if device.outcome is None:
            result = next(pending)
            device = replace(
                device,
                outcome=result.outcome,
                reason_code=result.outcome.value,
                reason=result.reason,
                camera_id=result.camera_id,
                camera_name=result.camera_name,
                registered_site=result.registered_site,
            )
        devices.append(device)
    report.devices = devices
    return report


def pending_devices(report: DiscoveryReport) -> list[DeviceReport]:
    """Return the interrogated devices awaiting registration, in report order."""
    return [d for d in report.devices if d.outcome is None and d.facts is not None]
