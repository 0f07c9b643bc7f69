"""Fuzz the whole OpenAPI document by property: no 5xx, every response matches its schema."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from camfleet.models import Sweep
from tests.api.conftest import api_settings
from tests.api.live import serve
from tests.api.seed import seed

EXAMPLES_PER_OPERATION = 20
# Fuzzed last: a random register or device could name a non-loopback address, and after these
# run no route that opens connections (checks, sweeps, discovery) is called again.
LAST = {("PUT", "/api/v1/sites/register.csv"), ("POST", "/api/v1/sites/{code}/devices")}


def _csv_bodies() -> None:
    # The register upload is text/csv; schemathesis sends it like any text body.
    schemathesis.serializer.alias("text/csv", "text/plain")


def _wait_for_sweeps(sessions: sessionmaker[Session]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with sessions() as session:
            if not session.scalars(select(Sweep.id).where(Sweep.status == "running")).all():
                return
        time.sleep(0.2)


@pytest.mark.slow
def test_fuzz_every_operation(db_url: str, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    _csv_bodies()
    fleet = seed(sessions)
    app = create_app(
        api_settings(db_url, tmp_path, check_rate_per_minute=3, check_deadline_s=2.0),
        sessions=sessions,
    )
    schema = schemathesis.openapi.from_dict(app.openapi())
    headers = fleet.auth("admin")
    checked = 0
    with serve(app) as base:
        try:
            operations = [r.ok() for r in schema.get_all_operations()]
            operations.sort(key=lambda op: (op.method.upper(), op.path) in LAST)
            for operation in operations:
                if (operation.method.upper(), operation.path) in LAST:
                    _wait_for_sweeps(sessions)

                @settings(
                    max_examples=EXAMPLES_PER_OPERATION,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy())
                def run(case: schemathesis.Case) -> None:
                    case.call_and_validate(
                        base_url=base,
                        headers=headers,
                        checks=[not_a_server_error, response_schema_conformance],
                    )

                run()
                checked += 1
        finally:
            _wait_for_sweeps(sessions)
    assert checked >= 20
