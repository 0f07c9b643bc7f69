"""`camfleet serve`: the web API (and, with it, the scheduler of hourly sweeps)."""

from __future__ import annotations

from typing import Annotated

import typer

from camfleet.cli.runtime import console, runtime


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings)")] = None,
) -> None:
    """Run the web API on the configured address."""
    import uvicorn

    from api.app import create_app

    rt = runtime()
    rt.engine  # noqa: B018 - migrate before serving
    bind_host = host or rt.settings.api_host
    bind_port = port or rt.settings.api_port
    console.print(f"camfleet API on http://{bind_host}:{bind_port}/ (docs at /docs)")
    uvicorn.run(create_app(rt.settings), host=bind_host, port=bind_port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add the serve command."""
    app.command("serve")(serve)
