"""Sweeps, remote device registration and discovery targets through the API."""

from __future__ import annotations

import time

from camfleet.db import transaction
from camfleet.models import Sweep
from camfleet.timeutil import utcnow
from tests.api.conftest import LiveApi


def _wait_sweep(api: LiveApi, sweep_id: int) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sweep = api.get("admin", f"/api/v1/sweeps/{sweep_id}").json()
        if sweep["status"] != "running":
            return sweep  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("the sweep did not end")


def test_sweep_start_progress_and_cancel(live_api: LiveApi) -> None:
    started = live_api.request("admin", "POST", "/api/v1/sweeps", json={"site_code": "TST-01"})
    assert started.status_code == 202, started.text
    sweep = started.json()
    assert sweep["scope_site_code"] == "TST-01"
    assert sweep["status"] == "running"
    busy = live_api.request("admin", "POST", "/api/v1/sweeps", json={"site_code": "TST-01-0001"})
    assert busy.status_code in (202, 409)  # 409 while the district sweep still runs
    if busy.status_code == 202:
        _wait_sweep(live_api, busy.json()["id"])
    cancel = live_api.request("admin", "POST", f"/api/v1/sweeps/{sweep['id']}/cancel")
    assert cancel.status_code in (202, 409)
    done = _wait_sweep(live_api, sweep["id"])
    assert done["status"] in ("completed", "cancelled")
    assert done["total"] == 8  # the enabled cameras of TST-01
    if done["status"] == "completed":
        assert done["done"] == done["total"]
        assert done["progress"] == 1.0
    listed = live_api.get("monitor", "/api/v1/sweeps").json()
    assert sweep["id"] in [s["id"] for s in listed["items"]]
    # An installer sweeps its own precinct when it names none.
    own = live_api.request("installer_a", "POST", "/api/v1/sweeps", json={})
    assert own.status_code == 202, own.text
    assert own.json()["scope_site_code"] == "TST-01-0003"
    _wait_sweep(live_api, own.json()["id"])


def test_verify_answers_within_the_check_deadline(live_api: LiveApi) -> None:
    deadline_s = live_api.app.state.ctx.settings.check_deadline_s
    t0 = time.monotonic()
    r = live_api.request("installer_a", "POST", "/api/v1/sites/TST-01-0003/check")
    elapsed = time.monotonic() - t0
    assert r.status_code == 200, r.text
    assert {c["status"] for c in r.json()["checks"]} == {"unreachable"}
    # One deadline for the checks plus the checker process's start-up.
    assert elapsed < deadline_s + 5, elapsed


def test_remote_registration_strips_credentials_and_refuses_foreign_hosts(
    live_api: LiveApi,
) -> None:
    device = {
        "host": "127.0.31.99",
        "onvif_address": "http://127.0.31.99:8080/onvif/device_service",
        "endpoint_uuid": "urn:uuid:remote-1",
        "name": "entrance",
        "manufacturer": "Camsim",
        "serial": "R-1",
        "profiles": [
            {"token": "sub", "stream_uri": "rtsp://viewer:Sekr3t-99@127.0.31.99:8554/sub"}
        ],
        "check_profile_token": "sub",
    }
    foreign = dict(
        device,
        host="127.0.31.98",
        endpoint_uuid="urn:uuid:remote-2",
        serial="R-2",
        profiles=[{"token": "sub", "stream_uri": "rtsp://127.0.99.1:8554/sub"}],
    )
    r = live_api.request(
        "installer_a",
        "POST",
        "/api/v1/sites/TST-01-0003/devices",
        json={"devices": [device, foreign]},
    )
    assert r.status_code == 200, r.text
    outcomes = [x["outcome"] for x in r.json()["results"]]
    assert outcomes == ["registered", "refused_address"]
    cam_id = r.json()["results"][0]["camera_id"]
    cam = live_api.get("installer_a", f"/api/v1/cameras/{cam_id}")
    assert cam.json()["profiles"][0]["stream_uri"] == "rtsp://127.0.31.99:8554/sub"
    assert "Sekr3t-99" not in cam.text
    # Installers may not take cameras over from other sites.
    move = live_api.request(
        "installer_a",
        "POST",
        "/api/v1/sites/TST-01-0003/devices",
        json={"devices": [], "move": True},
    )
    assert move.status_code == 403
    detail = live_api.get("installer_a", "/api/v1/readiness/precincts/TST-01-0003").json()
    assert detail["cameras_registered"] == 3


def test_discovery_probes_only_the_site_network(live_api: LiveApi) -> None:
    no_network = live_api.request(
        "admin", "POST", "/api/v1/sites/TST-01-0003/discovery", json={"hosts": ["127.0.0.1"]}
    )
    assert no_network.status_code == 409
    assert "network" in no_network.json()["error"]["message"]
    region = live_api.request("admin", "POST", "/api/v1/sites/TST/discovery", json={})
    assert region.status_code == 409


def test_discovery_targets_must_lie_in_the_site_network() -> None:
    import pytest

    from api.discovery_runs import TargetRefused, check_targets

    net = "127.0.20.0/24"
    assert check_targets(net, [], None).subnet == net
    assert check_targets(net, ["127.0.20.7:8080"], None).hosts == ("127.0.20.7:8080",)
    assert check_targets(net, [], "127.0.20.0/28").subnet == "127.0.20.0/28"
    for hosts, subnet in (
        (["127.0.21.1"], None),
        (["camera.example"], None),
        ([], "127.0.0.0/16"),
        ([], "::1/128"),
        (["127.0.20.7:abc"], None),
        (["127.0.20.7:0"], None),
        (["127.0.20.7 x"], None),
    ):
        with pytest.raises(TargetRefused):
            check_targets(net, hosts, subnet)
    with pytest.raises(TargetRefused):
        check_targets(None, ["127.0.20.1"], None)


def test_conflicts_do_not_reveal_sites_outside_the_token_scope(live_api: LiveApi) -> None:
    device = {
        "host": "127.0.31.97",
        "onvif_address": "http://127.0.31.97:8080/onvif/device_service",
        "endpoint_uuid": "urn:uuid:conflict-1",
        "name": "porch",
        "manufacturer": "Camsim",
        "serial": "C-1",
        "profiles": [{"token": "sub", "stream_uri": "rtsp://127.0.31.97:8554/sub"}],
        "check_profile_token": "sub",
    }
    first = live_api.request(
        "installer_a", "POST", "/api/v1/sites/TST-01-0003/devices", json={"devices": [device]}
    )
    assert first.json()["results"][0]["outcome"] == "registered"
    # The same device submitted at another precinct by that precinct's installer.
    other = live_api.request(
        "installer_b", "POST", "/api/v1/sites/TST-02-0001/devices", json={"devices": [device]}
    )
    result = other.json()["results"][0]
    assert result["outcome"] == "conflict"
    assert result["registered_site"] is None
    assert result["camera_id"] is None
    assert "TST-01" not in other.text
    assert "porch" not in result["reason"]
    # An admin sees where the camera is.
    admin = live_api.request(
        "admin", "POST", "/api/v1/sites/TST-02-0001/devices", json={"devices": [device]}
    )
    assert admin.json()["results"][0]["registered_site"] == "TST-01-0003"


def test_a_busy_answer_does_not_show_a_sweep_outside_the_scope(live_api: LiveApi) -> None:
    now = utcnow()
    with transaction(live_api.sessions) as session:
        wide = Sweep(scope_path="/", status="running", started_at=now, heartbeat_at=now)
        session.add(wide)
        session.flush()
        wide_id = wide.id
    busy = live_api.request("installer_a", "POST", "/api/v1/sweeps", json={})
    assert busy.status_code == 409, busy.text
    assert str(wide_id) not in busy.text
    assert "running over /" not in busy.text
    assert (
        live_api.request("installer_a", "POST", f"/api/v1/sweeps/{wide_id}/cancel").status_code
        == 404
    )
    # An admin, who can see it, is told which sweep is in the way.
    admin = live_api.request("admin", "POST", "/api/v1/sweeps", json={"site_code": "TST-01"})
    assert admin.status_code == 409
    assert admin.json()["error"]["details"] == {"sweep_id": wide_id}
