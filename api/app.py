"""Build the FastAPI application."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from api.context import ApiContext
from api.errors import install_error_handlers
from api.fastpath import ReadinessFastPath
from api.routes import (
    cameras,
    checks,
    discovery,
    me,
    operations,
    readiness,
    references,
    sites,
    sweeps,
)
from camfleet import __version__
from camfleet.config import Settings
from camfleet.db import make_engine, session_factory

API_PREFIX = "/api/v1"
# Request bodies are read whole before the token is checked: every body is capped, and the
# few routes that take more (register, device batches) raise their own cap.
MAX_BODY_BYTES = 1024 * 1024
STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """\
Readiness of polling-precinct cameras, the site register, cameras, checks, sweeps and discovery.

Every route under `/api/v1` and `/metrics` needs `Authorization: Bearer <token>` (tokens are made
with `camfleet token create`). Roles: `admin` (everything), `monitor` (read everything),
`installer` (read and act inside its own site subtree). Objects outside the caller's scope answer
404. Errors share one shape: `{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings, *, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Return the camfleet API application for the given settings (and, optionally, sessions)."""
    if sessions is None:
        engine = make_engine(settings.effective_database_url)
        sessions = session_factory(engine)
    else:
        bind = sessions.kw.get("bind")
        engine = bind if bind is not None else make_engine(settings.effective_database_url)
    ctx = ApiContext(settings=settings, engine=engine, sessions=sessions)
    app = FastAPI(
        title="camfleet",
        version=__version__,
        description=DESCRIPTION,
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    app.add_middleware(ReadinessFastPath, ctx=ctx)
    app.include_router(operations.router)
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (me, readiness, sites, cameras, references, checks, sweeps, discovery):
        v1.include_router(module.router)
    app.include_router(v1)
    # The pages are static shells with no data; every figure they show is fetched with the
    # token the user enters.
    app.mount("/ui", StaticFiles(directory=STATIC_DIR, html=True), name="ui")
    return app
