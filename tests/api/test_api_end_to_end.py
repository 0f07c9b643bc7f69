"""The simulated precinct behind the API, end to end: discover → check → readiness, over HTTP."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from camfleet.credentials import add_credential
from camfleet.db import transaction
from camfleet.register import import_register
from camfleet.sites import get_site
from camfleet.tokens import Role, create_token
from camfleet.vault import Vault
from sim.spec import PrecinctSpec
from tests.api.conftest import api_settings
from tests.api.live import serve

HEADER = (
    "region_code,region_name,district_code,district_name,constituency_code,constituency_name,"
    "precinct_code,precinct_name,address,expected_cameras,network\n"
)


def _register(spec: PrecinctSpec) -> bytes:
    rows = [HEADER]
    for code, cams in (("SIM-OK", 3), ("SIM-FAULTS", 1)):
        rows.append(
            f"SIM,Sim viloyati,SIM-D1,Sim tumani,SIM-C1,Sim okrugi,{code},{code},,{cams},"
            "127.0.20.0/24\n"
        )
    return "".join(rows).encode()


def _wait_run(client: httpx.Client, headers: dict[str, str], run_id: int) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/discovery/{run_id}", headers=headers).json()
        if run["status"] != "running":
            return run  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("discovery did not finish")


@pytest.mark.slow
def test_discover_check_readiness(
    sim_precinct: PrecinctSpec,
    db_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = api_settings(db_url, tmp_path, onvif_timeout_s=3.0)
    password = sim_precinct.camera("SIM-OK", "live").password
    with transaction(sessions) as session:
        import_register(session, _register(sim_precinct))
        add_credential(session, Vault.from_settings(settings), None, "admin", password)
        _, installer = create_token(
            session, "installer", Role.INSTALLER, get_site(session, "SIM-OK")
        )
        _, faults = create_token(session, "faults", Role.INSTALLER, get_site(session, "SIM-FAULTS"))
        _, monitor = create_token(session, "monitor", Role.MONITOR)
    app = create_app(settings, sessions=sessions)
    seen: list[str] = []
    with serve(app) as base, httpx.Client(base_url=base, timeout=60, trust_env=False) as client:
        inst = {"Authorization": f"Bearer {installer}"}
        mon = {"Authorization": f"Bearer {monitor}"}
        before = client.get("/api/v1/readiness/precincts/SIM-OK", headers=inst).json()
        assert before["state"] == "not_ready"
        assert before["reasons"][0]["code"] == "missing_cameras"

        hosts = [f"{c.host}:{c.onvif_port}" for c in sim_precinct.site("SIM-OK")]
        started = client.post(
            "/api/v1/sites/SIM-OK/discovery", headers=inst, json={"hosts": hosts, "timeout_s": 1}
        )
        assert started.status_code == 202, started.text
        run = _wait_run(client, inst, started.json()["id"])
        seen.append(str(run))
        assert run["status"] == "done", run
        outcomes = sorted(d["outcome"] for d in run["results"])  # type: ignore[union-attr]
        assert outcomes == ["registered"] * 3, run

        verify = client.post("/api/v1/sites/SIM-OK/check", headers=inst)
        seen.append(verify.text)
        assert verify.status_code == 200, verify.text
        body = verify.json()
        assert [c["status"] for c in body["checks"]] == ["ok"] * 3, body
        assert body["readiness"]["state"] == "ready", body["readiness"]

        precinct = client.get("/api/v1/readiness/precincts/SIM-OK", headers=inst).json()
        seen.append(str(precinct))
        assert precinct["state"] == "ready"
        cam = precinct["cameras"][0]
        thumb = client.get(cam["thumbnail_url"], headers=inst)
        assert thumb.status_code == 200
        assert thumb.content[:2] == b"\xff\xd8"

        # A faulty precinct: the black camera, found and checked the same way.
        black = sim_precinct.camera("SIM-FAULTS", "black")
        fh = {"Authorization": f"Bearer {faults}"}
        started = client.post(
            "/api/v1/sites/SIM-FAULTS/discovery",
            headers=fh,
            json={"hosts": [f"{black.host}:{black.onvif_port}"], "timeout_s": 1},
        )
        assert _wait_run(client, fh, started.json()["id"])["status"] == "done"
        check = client.post("/api/v1/sites/SIM-FAULTS/check", headers=fh).json()
        assert check["readiness"]["state"] == "not_ready"
        assert check["readiness"]["reasons"][0]["code"] == "black"

        region = client.get("/api/v1/readiness/sites/SIM", headers=mon).json()
        assert region["site"]["counts"]["ready"] == 1
        assert region["site"]["counts"]["not_ready"] == 1
        assert [p["code"] for p in region["not_ready"]["items"]] == ["SIM-FAULTS"]

        for url in (
            "/api/v1/cameras",
            "/api/v1/readiness/export.csv",
            "/api/v1/sites/register.csv",
            "/metrics",
            f"/api/v1/cameras/{cam['id']}/checks",
        ):
            r = client.get(url, headers=mon)
            assert r.status_code == 200, url
            seen.append(r.text)
    assert "camfleet_cameras{" in seen[-2]
    for text in [*seen, caplog.text]:
        assert password not in text
