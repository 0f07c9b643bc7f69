"""Camera passwords are write-only: never in a response, a log line or a metrics line."""

from __future__ import annotations

import logging

import pytest

from camfleet.models import Credential
from tests.api.conftest import LiveApi

PASSWORD = "Wr1te-0nly-Pa55word!"


def test_password_is_stored_and_never_shown(
    live_api: LiveApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cam = live_api.fleet.camera("TST-01-0003")
    seen: list[str] = []
    r = live_api.request(
        "installer_a",
        "PUT",
        f"/api/v1/cameras/{cam}/credential",
        json={"username": "operator", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    assert r.json()["credential_username"] == "operator"
    assert "password" not in r.json()
    seen.append(r.text)
    bad = live_api.request(
        "admin",
        "PUT",
        f"/api/v1/cameras/{cam}/credential",
        json={"username": "bad:name", "password": PASSWORD, "extra": PASSWORD},
    )
    assert bad.status_code == 422
    seen.append(bad.text)
    for url in (
        f"/api/v1/cameras/{cam}",
        "/api/v1/cameras?page_size=500",
        "/api/v1/readiness/precincts/TST-01-0003",
        "/api/v1/readiness/precincts",
        "/api/v1/readiness/export.csv",
        "/api/v1/sites/register.csv",
        f"/api/v1/cameras/{cam}/checks",
        "/metrics",
        "/openapi.json",
    ):
        resp = live_api.get("admin", url)
        assert resp.status_code == 200, url
        seen.append(resp.text)
    check = live_api.request("admin", "POST", f"/api/v1/cameras/{cam}/check")
    assert check.status_code == 200, check.text
    seen.append(check.text)
    with live_api.sessions() as session:
        stored = session.query(Credential).filter_by(username="operator").one()
        assert PASSWORD.encode() not in stored.password_encrypted
    for text in [*seen, caplog.text]:
        assert PASSWORD not in text
