"""Operations: metrics in the Prometheus format, the on-demand check limit, one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.ratelimit import RateLimiter
from camfleet.db import transaction
from camfleet.models import Sweep
from camfleet.sites import get_site
from camfleet.timeutil import utcnow
from camfleet.tokens import Role, create_token
from tests.api.conftest import LiveApi, api_settings
from tests.api.live import serve
from tests.api.seed import seed


def test_metrics_in_prometheus_format(live_api: LiveApi) -> None:
    now = utcnow()
    with transaction(live_api.sessions) as session:
        session.add_all(
            [
                Sweep(
                    scope_path="/",
                    status="completed",
                    total=9,
                    done=9,
                    started_at=now,
                    heartbeat_at=now,
                    finished_at=now,
                ),
                Sweep(
                    scope_path="/TST/TST-02/",
                    status="running",
                    total=4,
                    done=1,
                    started_at=now,
                    heartbeat_at=now,
                ),
            ]
        )
    r = live_api.get("monitor", "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    cams = {
        (s.labels["district"], s.labels["status"]): s.value
        for s in families["camfleet_cameras"].samples
    }
    assert cams[("TST-01", "ok")] == 6
    assert cams[("TST-01", "frozen")] == 1
    assert cams[("TST-02", "unreachable")] == 1
    assert cams[("TST-02", "unchecked")] == 1
    hist = {s.name: s for s in families["camfleet_check_duration_seconds"].samples}
    assert hist["camfleet_check_duration_seconds_count"].value == 9
    running = {s.name: s.value for s in families["camfleet_sweep_done"].samples}
    assert list(running.values()) == [1]
    last = families["camfleet_last_successful_sweep_timestamp_seconds"].samples[0].value
    assert abs(last - now.timestamp()) < 2
    assert live_api.get("installer_a", "/metrics").status_code == 403
    assert live_api.get(None, "/metrics").status_code == 401


def test_on_demand_checks_are_rate_limited_per_token(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    fleet = seed(sessions)
    app = create_app(api_settings(db_url, tmp_path, check_rate_per_minute=1), sessions=sessions)
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        cam = fleet.camera("TST-01-0003")
        first = client.post(f"/api/v1/cameras/{cam}/check", headers=fleet.auth("installer_a"))
        assert first.status_code == 200, first.text
        second = client.post(f"/api/v1/cameras/{cam}/check", headers=fleet.auth("installer_a"))
        assert second.status_code == 429
        assert int(second.headers["Retry-After"]) >= 1
        assert second.json()["error"]["code"] == "rate_limited"
        # Another token has its own bucket.
        other = client.post(f"/api/v1/cameras/{cam}/check", headers=fleet.auth("admin"))
        assert other.status_code == 200


def test_token_bucket_refills() -> None:
    limiter = RateLimiter(2)
    assert limiter.acquire(1, now=0.0) == 0
    assert limiter.acquire(1, now=0.0) == 0
    assert limiter.acquire(1, now=0.0) > 0
    assert limiter.acquire(1, now=30.0) == 0
    assert limiter.acquire(2, now=0.0) == 0


def test_errors_share_one_shape(live_api: LiveApi) -> None:
    cases = [
        live_api.get("admin", "/api/v1/nowhere"),
        live_api.get("admin", "/api/v1/sites/NOPE"),
        live_api.get("admin", "/api/v1/cameras/not-a-number"),
        live_api.request("admin", "DELETE", "/api/v1/me"),
        live_api.get(None, "/api/v1/me"),
        live_api.request("admin", "PUT", "/api/v1/sites/register.csv", content=b"a,b\n1,2\n"),
    ]
    assert [r.status_code for r in cases] == [404, 404, 422, 405, 401, 400]
    for r in cases:
        body = r.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "details"}
    assert cases[-1].json()["error"]["details"][0]["line"] == 1


def test_register_import_and_export_round_trip(live_api: LiveApi) -> None:
    exported = live_api.get("admin", "/api/v1/sites/register.csv")
    assert exported.status_code == 200
    changed = exported.text.replace("TST-02-0002 uchastkasi", "Yangi nom")
    r = live_api.request("admin", "PUT", "/api/v1/sites/register.csv", content=changed.encode())
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == {"precinct": 1}
    site = live_api.get("monitor", "/api/v1/sites/TST-02-0002").json()
    assert site["name"] == "Yangi nom"
    detail = live_api.get("monitor", "/api/v1/readiness/precincts?prefix=TST-02-0002").json()
    assert detail["items"][0]["name"] == "Yangi nom"


def test_metrics_refuse_a_site_scoped_monitor(live_api: LiveApi) -> None:
    with transaction(live_api.sessions) as session:
        _, plain = create_token(
            session, "district-monitor", Role.MONITOR, get_site(session, "TST-01")
        )
    r = live_api.client.get("/metrics", headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 403
    assert "TST-02" not in r.text


def test_request_bodies_are_capped_before_the_token_is_checked(live_api: LiveApi) -> None:
    big = b'{"site_code": "' + b"A" * (4 * 1024 * 1024) + b'"}'
    json_headers = {"Content-Type": "application/json"}
    r = live_api.client.post("/api/v1/sweeps", content=big, headers=json_headers)
    # Starlette answers a declared oversize body itself, in plain text.
    assert r.status_code == 413, r.text[:200]

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b" " * 65_536

    streamed = live_api.client.post("/api/v1/sweeps", content=chunks(), headers=json_headers)
    assert streamed.status_code == 413
    # The register and device batches keep their own, larger limits.
    register = b"region_code\n" + b"x,\n" * 700_000
    r = live_api.request("admin", "PUT", "/api/v1/sites/register.csv", content=register)
    assert r.status_code == 400, r.text[:200]
    batch = b'{"devices": [], "pad": "' + b"p" * (2 * 1024 * 1024) + b'"}'
    admin_json = {**json_headers, **live_api.fleet.auth("admin")}
    r = live_api.client.post("/api/v1/sites/TST-01-0003/devices", content=batch, headers=admin_json)
    assert r.status_code == 422, r.text[:200]
