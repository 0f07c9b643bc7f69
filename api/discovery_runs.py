"""Run a site's discovery in the background and keep its results in a DiscoveryRun row."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from camfleet.config import Settings
from camfleet.credentials import candidate_credentials, unlock
from camfleet.db import transaction
from camfleet.models import DiscoveryRun
from camfleet.redact import redact_text
from camfleet.sites import get_site
from camfleet.timeutil import utcnow
from camfleet.vault import Vault
from discovery.addresses import parse_host_port
from discovery.interrogate import InterrogationOptions
from discovery.model import SiteTarget
from discovery.registry import register_devices
from discovery.run import DiscoveryRequest, apply_registrations, discover_site, pending_devices
from discovery.schemas import DiscoveryReportOut

log = logging.getLogger("camfleet.api")


class TargetRefused(ValueError):
    """The hosts or subnet asked for lie outside the site's network."""


@dataclass(frozen=True)
class DiscoveryPlan:
    """Where the server looks for a site's cameras: listed hosts and/or a subnet."""

    hosts: tuple[str, ...]
    subnet: str | None
    timeout_s: float
    move: bool


def check_targets(network: str | None, hosts: list[str], subnet: str | None) -> DiscoveryPlan:
    """Return a plan whose every address lies in the site's network, or raise TargetRefused.

    The service probes only the precinct's own camera network, so an API caller cannot turn it
    into a scanner of other networks; multicast belongs to the installer's laptop (the CLI).
    """
    if network is None:
        raise TargetRefused("the site has no camera network in the register")
    net = ipaddress.ip_network(network, strict=False)
    for entry in hosts:
        try:
            host, _ = parse_host_port(entry, 80)
        except ValueError:
            raise TargetRefused(f"{entry[:80]!r} is not HOST[:PORT]") from None
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            raise TargetRefused(f"{entry!r} is not an IP address") from None
        if addr not in net:
            raise TargetRefused(f"{host} is outside the site's network {network}")
    if subnet is not None:
        try:
            sub = ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            raise TargetRefused(f"{subnet!r} is not a subnet") from None
        if sub.version != net.version or not sub.subnet_of(net):  # type: ignore[arg-type]
            raise TargetRefused(f"{subnet} is outside the site's network {network}")
    if not hosts and subnet is None:
        subnet = str(net)
    return DiscoveryPlan(tuple(hosts), subnet, 0.0, False)


def _fail(sessions: sessionmaker[Session], run_id: int, message: str) -> None:
    with transaction(sessions) as session:
        run = session.get(DiscoveryRun, run_id)
        if run is not None:
            run.status = "failed"
            run.error = message[:2000]
            run.finished_at = utcnow()


def run_discovery(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    run_id: int,
    site_code: str,
    plan: DiscoveryPlan,
) -> None:
    """Discover, register and record the results of one run (never raises)."""
    secrets: tuple[str, ...] = ()
    try:
        with sessions() as session:
            site = get_site(session, site_code)
            target = SiteTarget(site.code, site.network, site.expected_cameras)
            logins = [unlock(vault, cred) for cred in candidate_credentials(session, site)]
        secrets = tuple(login.password for login in logins)
        request = DiscoveryRequest(
            multicast=False,
            hosts=plan.hosts,
            subnet=plan.subnet,
            timeout_s=plan.timeout_s or settings.discovery_timeout_s,
        )
        options = InterrogationOptions(
            call_timeout_s=settings.onvif_timeout_s,
            max_reply_bytes=settings.onvif_max_reply_bytes,
            max_auth_attempts=settings.max_auth_attempts,
        )
        report = asyncio.run(discover_site(target, logins, request, options))
        pending = pending_devices(report)
        results = register_devices(
            sessions, site_code, [d.facts for d in pending if d.facts], move=plan.move
        )
        report = apply_registrations(report, results)
        document = DiscoveryReportOut.from_report(report)
        devices = json.loads(redact_text(document.model_dump_json(), secrets))["devices"]
        with transaction(sessions) as session:
            run = session.get(DiscoveryRun, run_id)
            if run is not None:
                run.status = "short" if report.short else "done"
                run.results = devices
                run.finished_at = utcnow()
    except Exception as exc:  # noqa: BLE001 - a run ends as failed with a readable reason
        message = redact_text(f"{type(exc).__name__}: {exc}", secrets)
        log.warning("discovery run %s at %s failed: %s", run_id, site_code, message[:300])
        _fail(sessions, run_id, message)


def start_discovery(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    site_code: str,
    plan: DiscoveryPlan,
) -> int:
    """Record a running discovery, run it on a background thread, and return its id."""
    with transaction(sessions) as session:
        site = get_site(session, site_code)
        run = DiscoveryRun(site_id=site.id, status="running", started_at=utcnow(), results=[])
        session.add(run)
        session.flush()
        run_id = run.id
    threading.Thread(
        target=run_discovery,
        args=(settings, sessions, vault, run_id, site_code, plan),
        name=f"discovery-{run_id}",
        daemon=True,
    ).start()
    return run_id
