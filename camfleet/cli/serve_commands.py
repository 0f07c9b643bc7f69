"""`camfleet serve`: the web API and pages, with the scheduler of hourly sweeps beside them."""

from __future__ import annotations

from typing import Annotated

import typer

from camfleet.cli.runtime import console, runtime


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings)")] = None,
) -> None:
    """Run the web API and pages, and sweep the fleet every interval (unless disabled)."""
    import uvicorn

    from api.app import create_app
    from health.scheduler import SweepScheduler

    rt = runtime()
    settings = rt.settings
    app = create_app(settings, sessions=rt.sessions)  # the schema is migrated by now
    scheduler = SweepScheduler(settings, rt.sessions, rt.vault)
    bind_host = host or settings.api_host
    bind_port = port or settings.api_port
    console.print(f"camfleet API on http://{bind_host}:{bind_port}/ (pages at /ui/, docs at /docs)")
    if settings.scheduler_enabled:
        console.print(
            f"sweeps every {settings.sweep_interval_s:.0f} s "
            f"(first after up to {settings.sweep_jitter_s:.0f} s)"
        )
        scheduler.start()
    try:
        uvicorn.run(app, host=bind_host, port=bind_port, log_level="info")
    finally:
        scheduler.stop()


def register(app: typer.Typer) -> None:
    """Add the serve command."""
    app.command("serve")(serve)
