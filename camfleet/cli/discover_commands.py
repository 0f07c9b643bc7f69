"""`camfleet discover` and `camfleet cameras add|list`: find, register and list cameras."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from camfleet.cli.errors import CliError
from camfleet.cli.runtime import Runtime, console, runtime
from camfleet.credentials import Login, candidate_credentials, unlock
from camfleet.db import transaction
from camfleet.models import Camera, Credential, DiscoveryRun, Site
from camfleet.redact import redact_text
from camfleet.sites import SiteNotFound, get_site, subtree
from camfleet.timeutil import utcnow
from discovery.interrogate import InterrogationOptions
from discovery.manual import ManualCameraError, add_manual_camera
from discovery.model import DiscoveryReport, SiteTarget
from discovery.registry import RegistrationResult, register_devices
from discovery.remote import RemoteError, check_token, submit_devices
from discovery.run import DiscoveryRequest, apply_registrations, discover_site, pending_devices
from discovery.schemas import DeviceBatchIn, DeviceIn, DiscoveryReportOut

cameras_app = typer.Typer(help="Registered cameras: add by hand, list.", no_args_is_help=True)
# Exit code when the precinct has fewer cameras than expected.
EXIT_SHORT = 3


def _logins(rt: Runtime, credentials: list[Credential]) -> list[Login]:
    return [unlock(rt.vault, cred) for cred in credentials]


def _target_and_logins(rt: Runtime, code: str, remote: bool) -> tuple[SiteTarget, list[Login]]:
    with rt.sessions() as session:
        try:
            site = get_site(session, code)
        except SiteNotFound:
            if not remote:
                raise
            # On a laptop the site may not be in the local register: use the global logins.
            rows = session.scalars(select(Credential).where(Credential.site_id.is_(None))).all()
            ordered = sorted(rows, key=lambda c: (c.priority, c.id))
            return SiteTarget(code), _logins(rt, list(ordered))
        target = SiteTarget(site.code, site.network, site.expected_cameras)
        return target, _logins(rt, candidate_credentials(session, site))


def _register_remote(
    report: DiscoveryReport, server: str, token: str, move: bool, dry_run: bool
) -> DiscoveryReport:
    pending = pending_devices(report)
    if dry_run or not pending:
        return report
    batch = DeviceBatchIn(
        devices=[DeviceIn.from_facts(d.facts) for d in pending if d.facts], move=move
    )
    try:
        answer = submit_devices(server, token, report.site.code, batch)
    except RemoteError as exc:
        raise CliError(str(exc)) from None
    if len(answer.results) != len(pending):
        raise CliError("the service answered for a different number of devices")
    results = [
        RegistrationResult(r.outcome, r.reason, r.camera_id, r.camera_name, r.registered_site)
        for r in answer.results
    ]
    return apply_registrations(report, results)


def _record_run(rt: Runtime, report: DiscoveryReport, document: DiscoveryReportOut) -> None:
    with transaction(rt.sessions) as session:
        site = get_site(session, report.site.code)
        session.add(
            DiscoveryRun(
                site_id=site.id,
                status="short" if report.short else "done",
                started_at=report.started_at,
                finished_at=report.finished_at or utcnow(),
                results=json.loads(document.model_dump_json())["devices"],
            )
        )


def _print_table(report: DiscoveryReport, secrets: tuple[str, ...]) -> None:
    title = f"discovery at {report.site.code}" + (" (dry run)" if report.dry_run else "")
    table = Table("host", "camera", "result", "reason", "skew s", title=title)
    for d in report.devices:
        camera = d.camera_name or d.name or ""
        skew = "" if d.clock_skew_s is None else f"{d.clock_skew_s:+.0f}"
        outcome = d.outcome.value if d.outcome else "interrogated"
        # Names and reasons come from devices: never let them act as console markup.
        cells = (d.host, camera, outcome, redact_text(d.reason, secrets), skew)
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)
    expected = report.site.expected_cameras
    line = f"{report.site.code}: expected {expected if expected is not None else '?'}, "
    line += f"found {report.found}" + (" — SHORT" if report.short else "")
    console.print(escape(line))


def discover(
    site: Annotated[str, typer.Option("--site", help="Precinct code")],
    interface: Annotated[
        str | None, typer.Option("--interface", help="Network interface for the multicast probe")
    ] = None,
    hosts: Annotated[
        list[str] | None, typer.Option("--hosts", help="HOST[:PORT] to probe directly; repeat")
    ] = None,
    subnet: Annotated[
        str | None, typer.Option("--subnet", help="Sweep a small subnet (at most /22)")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds to collect probe replies")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Interrogate, store nothing")] = False,
    move: Annotated[
        bool, typer.Option("--move", help="Move cameras registered to another site here")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
    server: Annotated[
        str | None, typer.Option("--server", help="Register through this camfleet service")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="CAMFLEET_TOKEN", help="API token for --server"),
    ] = None,
) -> int:
    """Find the ONVIF cameras of a precinct and register them; exit 3 if the precinct is short."""
    if server and not token:
        raise CliError("--server needs --token (or CAMFLEET_TOKEN)")
    if server and token:
        try:
            check_token(server, token)
        except RemoteError as exc:
            raise CliError(str(exc)) from None
    rt = runtime()
    settings = rt.settings
    target, logins = _target_and_logins(rt, site, remote=server is not None)
    secrets = tuple(login.password for login in logins)
    listed = tuple(hosts or ())
    request = DiscoveryRequest(
        # Multicast goes out only when asked (an interface) or when nothing else is given.
        multicast=interface is not None or (not listed and subnet is None),
        interface=interface,
        hosts=listed,
        subnet=subnet,
        timeout_s=timeout if timeout is not None else settings.discovery_timeout_s,
    )
    options = InterrogationOptions(
        call_timeout_s=settings.onvif_timeout_s,
        max_reply_bytes=settings.onvif_max_reply_bytes,
        max_auth_attempts=settings.max_auth_attempts,
    )
    try:
        report = asyncio.run(discover_site(target, logins, request, options))
    except (ValueError, OSError) as exc:
        raise CliError(f"cannot discover: {redact_text(str(exc), secrets)}") from None
    report.dry_run = dry_run
    if server and token:
        report = _register_remote(report, server, token, move, dry_run)
    else:
        pending = pending_devices(report)
        results = register_devices(
            rt.sessions,
            target.code,
            [d.facts for d in pending if d.facts],
            move=move,
            dry_run=dry_run,
        )
        report = apply_registrations(report, results)
    document = DiscoveryReportOut.from_report(report)
    if not dry_run and not server:
        _record_run(rt, report, document)
    if as_json:
        sys.stdout.write(redact_text(document.model_dump_json(indent=2), secrets) + "\n")
    else:
        _print_table(report, secrets)
    return EXIT_SHORT if report.short else 0


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True))
    return sys.stdin.readline().rstrip("\r\n")


def _carries_password(uri: str) -> bool:
    """Return whether a URL has a password in its user information."""
    userinfo, at, _ = uri.partition("://")[2].rpartition("@")
    return bool(at) and ":" in userinfo


@cameras_app.command("add")
def cameras_add(
    site: Annotated[str, typer.Option("--site", help="Precinct code")],
    name: Annotated[str, typer.Option("--name", help="Camera name, unique in the precinct")],
    stream_uri: Annotated[str, typer.Option("--stream-uri", help="Main stream rtsp://…")],
    sub_stream_uri: Annotated[
        str | None, typer.Option("--sub-stream-uri", help="Low-resolution stream for checks")
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", help="Login; password from prompt or stdin")
    ] = None,
) -> None:
    """Register a camera without ONVIF by its stream address (credentials kept out of it)."""
    for uri in (stream_uri, sub_stream_uri):
        if uri and _carries_password(uri):
            # Too late to hide it from this command line, but never store or repeat it.
            raise CliError(
                "a stream address must not carry a password (every user of this machine can "
                "read command lines): give --username and type the password at the prompt"
            )
    password = _read_password("password") if username else None
    rt = runtime()
    try:
        with transaction(rt.sessions) as session:
            precinct = get_site(session, site)
            camera = add_manual_camera(
                session, rt.vault, precinct, name, stream_uri, sub_stream_uri, username, password
            )
            shown = f"{precinct.code}/{camera.name}"
    except ManualCameraError as exc:
        raise CliError(str(exc)) from None
    console.print(f"registered manual camera {escape(shown)}")


@cameras_app.command("list")
def cameras_list(
    site: Annotated[str | None, typer.Option("--site", help="Site code (its subtree)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
) -> None:
    """List registered cameras (never credentials)."""
    rt = runtime()
    with rt.sessions() as session:
        root = get_site(session, site) if site else None
        sites = {s.id: s for s in subtree(session, root)}
        cameras = session.scalars(
            select(Camera)
            .where(Camera.site_id.in_(list(sites)))
            .options(selectinload(Camera.profiles))
            .order_by(Camera.site_id, Camera.name)
        ).all()
        users = {
            c.id: c.username
            for c in session.scalars(
                select(Credential).where(
                    Credential.id.in_([cam.credential_id for cam in cameras if cam.credential_id])
                )
            )
        }
        rows = [_camera_row(cam, sites[cam.site_id], users) for cam in cameras]
    if as_json:
        sys.stdout.write(json.dumps({"cameras": rows}, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("site", "name", "source", "host", "model", "serial", "main stream", "login")
    for r in rows:
        text = {k: "" if v is None else str(v) for k, v in r.items()}
        model = " ".join(x for x in (text["manufacturer"], text["model"]) if x)
        cells = (
            text["site"],
            text["name"],
            text["source"],
            text["host"],
            model,
            text["serial"],
            text["main_stream_uri"],
            text["username"],
        )
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table if rows else "no cameras")


def _camera_row(camera: Camera, site: Site, users: dict[int, str]) -> dict[str, object]:
    streams = {p.token: p.stream_uri for p in camera.profiles}
    return {
        "id": camera.id,
        "site": site.code,
        "name": camera.name,
        "source": camera.source,
        "enabled": camera.enabled,
        "host": camera.host,
        "endpoint_uuid": camera.endpoint_uuid,
        "manufacturer": camera.manufacturer,
        "model": camera.model,
        "firmware": camera.firmware,
        "serial": camera.serial,
        "mac": camera.mac,
        "clock_skew_s": camera.clock_skew_s,
        "main_stream_uri": streams.get(camera.main_profile_token or ""),
        "check_stream_uri": streams.get(camera.check_profile_token or ""),
        "snapshot_uri": camera.snapshot_uri,
        "username": users.get(camera.credential_id or 0),
        "profiles": [
            {
                "token": p.token,
                "encoding": p.encoding,
                "width": p.width,
                "height": p.height,
                "fps": p.fps,
                "stream_uri": p.stream_uri,
            }
            for p in camera.profiles
        ],
        "last_seen_at": camera.last_seen_at.isoformat() if camera.last_seen_at else None,
    }


def register(app: typer.Typer) -> None:
    """Add the discover command and the cameras group."""
    app.command("discover")(discover)
    app.add_typer(cameras_app, name="cameras")
