"""`camfleet demo`: the embedded default, end to end, on a fresh machine.

Imports the example register when the database has no sites; when no real camera is registered,
starts the simulated demo precinct on loopback addresses, discovers and registers its cameras,
runs a first sweep; then serves the API, the pages and the hourly sweeps until Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select

from camfleet.cli.errors import CliError
from camfleet.cli.runtime import Runtime, console, runtime
from camfleet.credentials import add_credential
from camfleet.db import transaction
from camfleet.models import Camera, Credential, Site
from camfleet.register import import_register
from camfleet.sites import get_site
from camfleet.tokens import Role, create_token

DEMO_DISTRICT = "JZX-07"


def _example_register(root: Path) -> Path:
    return root / "examples" / "register-jizzax.csv"


def _ensure_register(rt: Runtime, root: Path) -> None:
    with rt.sessions() as session:
        if session.scalar(select(func.count(Site.id))):
            return
    path = _example_register(root)
    with transaction(rt.sessions) as session:
        summary = import_register(session, path.read_bytes())
    counts = ", ".join(f"{n} {level}" for level, n in summary.created.items())
    console.print(f"imported the example register {path.name}: {counts}")


def _real_cameras(rt: Runtime, sim_hosts: set[str]) -> int:
    with rt.sessions() as session:
        hosts = session.scalars(select(Camera.host)).all()
    return sum(1 for h in hosts if h not in sim_hosts)


def _ensure_demo_credential(rt: Runtime, username: str, password: str) -> None:
    with transaction(rt.sessions) as session:
        district = get_site(session, DEMO_DISTRICT)
        known = session.scalars(
            select(Credential).where(
                Credential.site_id == district.id, Credential.username == username
            )
        ).first()
        if known is None:
            add_credential(session, rt.vault, district, username, password)


def demo(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings)")] = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Set up, discover and sweep, then stop")
    ] = False,
) -> None:
    """Run camfleet on the embedded default, with the simulated precinct if no camera is real."""
    from camfleet.cli.discover_commands import discover
    from camfleet.cli.health_commands import sweep
    from camfleet.cli.serve_commands import serve
    from sim.launch import PROJECT_ROOT, SimProcess, start_sim
    from sim.runner import precinct_file
    from sim.spec import load_spec

    rt = runtime()
    _ensure_register(rt, PROJECT_ROOT)
    demo_file = precinct_file("demo")
    spec = load_spec(demo_file)
    sim: SimProcess | None = None
    if _real_cameras(rt, {c.host for c in spec.cameras}):
        console.print("real cameras are registered: the simulated precinct is not started")
    else:
        console.print(f"no real cameras: starting the simulated precinct {demo_file.name}")
        sim = start_sim([str(demo_file)], rt.settings.data_dir / "sim")
    try:
        if sim is not None:
            first = spec.cameras[0]
            _ensure_demo_credential(rt, first.username, first.password)
            for code in spec.site_names:
                hosts = [c.host for c in spec.site(code) if c.onvif]
                discover(site=code, hosts=hosts, timeout=2.0)
            try:
                sweep(site=DEMO_DISTRICT)
            except CliError as exc:
                console.print(f"first sweep: {exc}")
        with transaction(rt.sessions) as session:
            _, token = create_token(session, "demo admin", Role.ADMIN)
        console.print(f"admin token for the API and pages: [bold]{token}[/]")
        if not no_serve:
            serve(host=host, port=port)
    finally:
        if sim is not None:
            sim.stop()


def register(app: typer.Typer) -> None:
    """Add the demo command."""
    app.command("demo")(demo)
