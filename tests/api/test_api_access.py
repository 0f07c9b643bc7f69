"""Access to every route: each role, two sites; out-of-scope objects answer 404; no token, 401."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from camfleet.db import transaction
from camfleet.models import ApiToken, DiscoveryRun, Sweep
from camfleet.sites import get_site
from camfleet.timeutil import utcnow
from tests.api.conftest import LiveApi

SITE = {"A": "TST-01-0003", "B": "TST-02-0001"}
PUBLIC = {"/healthz", "/readyz"}
DENIED = {401, 403, 404}


@dataclass(frozen=True)
class Call:
    """How to call one route: method, path template and body."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    content: bytes | None = None
    kind: str = "read"  # read | act | admin | fleet (admin or monitor only)
    has_object: bool = True


CALLS = [
    Call("GET", "/api/v1/me", has_object=False),
    Call("GET", "/metrics", kind="fleet", has_object=False),
    Call("GET", "/api/v1/readiness/rollup", has_object=False),
    Call("GET", "/api/v1/readiness/precincts", has_object=False),
    Call("GET", "/api/v1/readiness/export.csv", has_object=False),
    Call("GET", "/api/v1/readiness/sites/{code}"),
    Call("GET", "/api/v1/readiness/precincts/{code}"),
    Call("GET", "/api/v1/sites", has_object=False),
    Call("GET", "/api/v1/sites/tree", has_object=False),
    Call("GET", "/api/v1/sites/register.csv", has_object=False),
    Call(
        "PUT",
        "/api/v1/sites/register.csv",
        content=b"region_code,region_name\n",
        kind="admin",
        has_object=False,
    ),
    Call("GET", "/api/v1/sites/{code}"),
    Call("GET", "/api/v1/cameras", has_object=False),
    Call("GET", "/api/v1/cameras/{camera_id}"),
    Call("PATCH", "/api/v1/cameras/{camera_id}", body={"enabled": True}, kind="act"),
    Call("POST", "/api/v1/cameras/{camera_id}/move", body={"site_code": "{code}"}, kind="act"),
    Call(
        "PUT",
        "/api/v1/cameras/{camera_id}/credential",
        body={"username": "admin", "password": "access-test-pass"},
        kind="act",
    ),
    Call("GET", "/api/v1/cameras/{camera_id}/checks"),
    Call("GET", "/api/v1/cameras/{camera_id}/thumbnail"),
    Call("POST", "/api/v1/cameras/{camera_id}/check", kind="act"),
    Call("PUT", "/api/v1/cameras/{camera_id}/reference", body={"force": False}, kind="act"),
    Call("GET", "/api/v1/cameras/{camera_id}/reference"),
    Call("POST", "/api/v1/sites/{code}/discovery", body={}, kind="act"),
    Call("GET", "/api/v1/discovery/{run_id}"),
    Call("POST", "/api/v1/sites/{code}/devices", body={"devices": []}, kind="act"),
    Call("POST", "/api/v1/sites/{code}/check", kind="act"),
    Call("GET", "/api/v1/sweeps", has_object=False),
    Call("POST", "/api/v1/sweeps", body={"site_code": "{code}"}, kind="act"),
    Call("GET", "/api/v1/sweeps/{sweep_id}"),
    Call("POST", "/api/v1/sweeps/{sweep_id}/cancel", kind="act"),
]


def _fill(text: str, values: dict[str, Any]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _objects(api: LiveApi, sweeps: dict[str, int]) -> dict[str, dict[str, Any]]:
    return {
        side: {
            "code": SITE[side],
            "camera_id": api.fleet.camera(SITE[side]),
            "sweep_id": sweeps[side],
            "run_id": sweeps["run_" + side],
        }
        for side in ("A", "B")
    }


def _add_sweeps(api: LiveApi) -> dict[str, int]:
    ids = {}
    with transaction(api.sessions) as session:
        for side, code in SITE.items():
            site = get_site(session, code)
            now = utcnow()
            sweep = Sweep(
                scope_site_id=site.id,
                scope_path=site.path,
                status="completed",
                total=1,
                done=1,
                started_at=now,
                heartbeat_at=now,
                finished_at=now,
            )
            run = DiscoveryRun(site_id=site.id, status="done", started_at=now, results=[])
            session.add_all([sweep, run])
            session.flush()
            ids[side] = sweep.id
            ids["run_" + side] = run.id
    return ids


def _raw(api: LiveApi, who: str | None, call: Call, values: dict[str, Any], body: Any) -> int:
    if isinstance(body, dict):
        body = {k: _fill(v, values) if isinstance(v, str) else v for k, v in body.items()}
    headers = api.fleet.auth(who) if who else {}
    if call.content is not None:
        headers["Content-Type"] = "text/csv"
    r = api.client.request(
        call.method, _fill(call.path, values), headers=headers, json=body, content=call.content
    )
    assert r.status_code < 500, (call, who, r.text)
    if r.status_code >= 400:
        assert set(r.json()) == {"error"}, r.text
    return r.status_code


def _wait_for_sweeps(api: LiveApi) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with api.sessions() as session:
            running = session.scalars(select(Sweep.id).where(Sweep.status == "running")).all()
        if not running:
            return
        time.sleep(0.2)
    raise AssertionError(f"sweeps still running: {running}")


def test_every_documented_route_is_in_the_access_table(live_api: LiveApi) -> None:
    paths = live_api.app.openapi()["paths"]
    documented = {
        (method.upper(), path)
        for path, ops in paths.items()
        for method in ops
        if path not in PUBLIC
    }
    assert documented == {(c.method, c.path) for c in CALLS}


def test_no_route_answers_without_a_valid_token(live_api: LiveApi) -> None:
    values = _objects(live_api, _add_sweeps(live_api))["A"]
    for call in CALLS:
        assert _raw(live_api, None, call, values, call.body) == 401, call
        live_api.fleet.tokens["forged"] = "cf_" + "x" * 43
        assert _raw(live_api, "forged", call, values, call.body) == 401, call
    for path in PUBLIC:
        assert live_api.client.get(path).status_code == 200
    # The pages and the API description are public shells: no fleet data without a token.
    for path in ("/ui/", "/ui/precinct.html", "/ui/dashboard.js", "/openapi.json", "/docs"):
        page = live_api.client.get(path)
        assert page.status_code == 200, path
        assert "TST-01" not in page.text, path


@pytest.mark.slow
def test_each_role_on_two_sites(live_api: LiveApi) -> None:
    objects = _objects(live_api, _add_sweeps(live_api))
    try:
        for call in CALLS:
            for side in ("A", "B"):
                values = objects[side]
                outcome = {
                    who: _raw(live_api, who, call, values, call.body)
                    for who in ("admin", "monitor", "installer_a")
                }
                admin, monitor, installer = (
                    outcome["admin"],
                    outcome["monitor"],
                    outcome["installer_a"],
                )
                assert admin not in DENIED, (call, side, outcome)
                if call.kind in ("act", "admin"):
                    assert monitor == 403, (call, side, outcome)
                else:
                    assert monitor not in DENIED, (call, side, outcome)
                if call.kind in ("admin", "fleet"):
                    assert installer == 403, (call, side, outcome)
                elif not call.has_object or side == "A":
                    assert installer not in DENIED, (call, side, outcome)
                else:
                    assert installer == 404, (call, side, outcome)
                _wait_for_sweeps(live_api)
    finally:
        _wait_for_sweeps(live_api)


def test_installer_lists_hold_only_its_subtree(live_api: LiveApi) -> None:
    _add_sweeps(live_api)
    cams = live_api.get("installer_a", "/api/v1/cameras").json()
    assert {c["site_code"] for c in cams["items"]} == {SITE["A"]}
    sites = live_api.get("installer_a", "/api/v1/sites").json()
    assert [s["code"] for s in sites["items"]] == [SITE["A"]]
    tree = live_api.get("installer_a", "/api/v1/sites/tree").json()
    assert [n["code"] for n in tree] == [SITE["A"]]
    sweeps = live_api.get("installer_a", "/api/v1/sweeps").json()
    assert {s["scope_site_code"] for s in sweeps["items"]} == {SITE["A"]}
    register = live_api.get("installer_a", "/api/v1/sites/register.csv").text.splitlines()
    assert len(register) == 2
    assert SITE["A"] in register[1]


def test_installer_cannot_move_a_camera_out_of_its_subtree(live_api: LiveApi) -> None:
    cam = live_api.fleet.camera(SITE["A"], "hall")
    r = live_api.request(
        "installer_a", "POST", f"/api/v1/cameras/{cam}/move", json={"site_code": SITE["B"]}
    )
    assert r.status_code == 404
    moved = live_api.request(
        "admin", "POST", f"/api/v1/cameras/{cam}/move", json={"site_code": "TST-02-0002"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["site_code"] == "TST-02-0002"
    assert live_api.get("installer_a", f"/api/v1/cameras/{cam}").status_code == 404
    clash = live_api.request(
        "admin", "POST", f"/api/v1/cameras/{cam}/move", json={"site_code": "TST-02-0002"}
    )
    assert clash.status_code == 200
    door = live_api.fleet.camera(SITE["A"])
    taken = live_api.request(
        "admin", "POST", f"/api/v1/cameras/{door}/move", json={"site_code": "TST-02-0002"}
    )
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "conflict"


def test_monitor_cannot_import_the_register(live_api: LiveApi) -> None:
    r = live_api.request("monitor", "PUT", "/api/v1/sites/register.csv", content=b"x")
    assert r.status_code == 403


def test_a_revoked_token_stops_working(live_api: LiveApi) -> None:
    principals = live_api.app.state.ctx.principals
    principals.ttl_s = 0.2
    principals.grace_s = 0.2
    assert live_api.get("monitor", "/api/v1/readiness/rollup").status_code == 200
    with transaction(live_api.sessions) as session:
        token = session.scalars(select(ApiToken).where(ApiToken.name == "monitor")).one()
        token.revoked_at = utcnow()
    time.sleep(0.5)
    codes = set()
    for _ in range(3):
        codes.add(live_api.get("monitor", "/api/v1/readiness/rollup").status_code)
        time.sleep(0.05)
    assert codes == {401}
