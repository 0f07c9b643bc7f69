"""Fixtures of the API tests: a seeded fleet on SQLite or PostgreSQL, served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from camfleet.config import Settings
from tests.api.live import serve
from tests.api.seed import Fleet, seed

TEST_SECRET = "camfleet-test-secret-key-0123456789abcdef"


def api_settings(db_url: str, data_dir: Path, **overrides: object) -> Settings:
    """Return settings for a test application."""
    values: dict[str, object] = {
        "database_url": db_url,
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "scheduler_enabled": False,
        "check_deadline_s": 6.0,
        "confirm_delay_s": 0.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class LiveApi:
    """A seeded fleet behind a running server."""

    app: FastAPI
    fleet: Fleet
    client: httpx.Client
    sessions: sessionmaker[Session]

    def get(self, who: str | None, url: str, **kw: object) -> httpx.Response:
        """GET as a role (None: no token)."""
        headers = self.fleet.auth(who) if who else {}
        return self.client.get(url, headers=headers, **kw)  # type: ignore[arg-type]

    def request(self, who: str | None, method: str, url: str, **kw: object) -> httpx.Response:
        """Send any request as a role (None: no token)."""
        headers = self.fleet.auth(who) if who else {}
        return self.client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]


@pytest.fixture
def live_api(db_url: str, sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[LiveApi]:
    """Seed the fleet, start the API on 127.0.0.1 and yield a client for it."""
    fleet = seed(sessions)
    app = create_app(api_settings(db_url, tmp_path), sessions=sessions)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        yield LiveApi(app, fleet, client, sessions)
