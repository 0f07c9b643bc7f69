"""Build the FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text

from camfleet import __version__
from camfleet.config import Settings
from camfleet.db import make_engine, session_factory


def create_app(settings: Settings) -> FastAPI:
    """Return the camfleet API application for the given settings."""
    engine = make_engine(settings.effective_database_url)
    sessions = session_factory(engine)
    app = FastAPI(title="camfleet", version=__version__)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Report that the process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> dict[str, str]:
        """Report whether the database answers."""
        with sessions() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app
