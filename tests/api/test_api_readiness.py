"""Readiness over HTTP: precincts in every state, rollups, the not-ready list, filters, CSV."""

from __future__ import annotations

import csv
import io

from sqlalchemy import update

from camfleet.db import transaction
from camfleet.models import Camera
from tests.api.conftest import LiveApi
from tests.api.seed import EXPECTED_STATE


def test_each_precinct_reports_its_state_with_cameras(live_api: LiveApi) -> None:
    for code, state in EXPECTED_STATE.items():
        r = live_api.get("monitor", f"/api/v1/readiness/precincts/{code}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["state"] == state, (code, body)
        assert body["cameras"], code
        for cam in body["cameras"]:
            assert {"id", "name", "status", "last_check_at", "reasons", "measurements"} <= set(cam)


def test_reasons_name_the_camera_and_the_missing_ones(live_api: LiveApi) -> None:
    frozen = live_api.get("monitor", "/api/v1/readiness/precincts/TST-01-0003").json()
    assert frozen["worst_status"] == "frozen"
    assert frozen["reasons"][0]["code"] == "frozen"
    assert frozen["reasons"][0]["camera_id"] == live_api.fleet.camera("TST-01-0003")
    door = next(c for c in frozen["cameras"] if c["name"] == "door")
    assert door["hard_status"] == "frozen"
    assert door["thumbnail_url"] == f"/api/v1/cameras/{door['id']}/thumbnail"
    missing = live_api.get("monitor", "/api/v1/readiness/precincts/TST-01-0005").json()
    assert missing["reasons"][0] == {
        "code": "missing_cameras",
        "message": "1 of 2 expected cameras registered",
        "camera_id": None,
    }
    stale = live_api.get("monitor", "/api/v1/readiness/precincts/TST-01-0004").json()
    assert [x["code"] for x in stale["reasons"]] == ["stale"]


def test_rollup_counts_and_percentages_per_level(live_api: LiveApi) -> None:
    region = live_api.get("monitor", "/api/v1/readiness/rollup").json()
    assert region["total"] == 1
    tst = region["items"][0]
    assert tst["code"] == "TST"
    assert tst["total"] == 7
    assert tst["counts"] == {"ready": 1, "degraded": 1, "not_ready": 3, "unknown": 2}
    districts = live_api.get("monitor", "/api/v1/readiness/rollup?level=district").json()
    by_code = {d["code"]: d for d in districts["items"]}
    assert by_code["TST-01"]["counts"] == {"ready": 1, "degraded": 1, "not_ready": 2, "unknown": 1}
    assert by_code["TST-01"]["percentages"]["not_ready"] == 40.0
    assert by_code["TST-02"]["percentages"] == {
        "ready": 0.0,
        "degraded": 0.0,
        "not_ready": 50.0,
        "unknown": 50.0,
    }
    cons = live_api.get("monitor", "/api/v1/readiness/rollup?level=constituency&prefix=TST-02")
    assert [c["code"] for c in cons.json()["items"]] == ["TST-02-K1"]
    ready_only = live_api.get("monitor", "/api/v1/readiness/rollup?level=district&state=ready")
    assert [c["code"] for c in ready_only.json()["items"]] == ["TST-01"]


def test_not_ready_list_is_worst_and_oldest_first(live_api: LiveApi) -> None:
    r = live_api.get("monitor", "/api/v1/readiness/sites/TST").json()
    assert r["site"]["counts"]["not_ready"] == 3
    codes = [p["code"] for p in r["not_ready"]["items"]]
    # Missing cameras first, then unreachable (more severe than frozen).
    assert codes == ["TST-01-0005", "TST-02-0001", "TST-01-0003"]
    assert all(p["reasons"] for p in r["not_ready"]["items"])
    page = live_api.get("monitor", "/api/v1/readiness/sites/TST?page=2&page_size=2").json()
    assert [p["code"] for p in page["not_ready"]["items"]] == ["TST-01-0003"]
    assert page["not_ready"]["total"] == 3


def test_precinct_list_filters_and_bounded_pages(live_api: LiveApi) -> None:
    all_ = live_api.get("monitor", "/api/v1/readiness/precincts").json()
    assert all_["total"] == 7
    assert [p["state"] for p in all_["items"]][:3] == ["not_ready"] * 3
    assert all_["items"][-1]["state"] == "ready"
    unknown = live_api.get("monitor", "/api/v1/readiness/precincts?state=unknown").json()
    assert {p["code"] for p in unknown["items"]} == {"TST-01-0004", "TST-02-0002"}
    under = live_api.get("monitor", "/api/v1/readiness/precincts?under=TST-02").json()
    assert {p["code"] for p in under["items"]} == {"TST-02-0001", "TST-02-0002"}
    prefix = live_api.get("monitor", "/api/v1/readiness/precincts?prefix=TST-01-000").json()
    assert prefix["total"] == 5
    capped = live_api.get("monitor", "/api/v1/readiness/precincts?page_size=5000").json()
    assert capped["page_size"] == live_api.app.state.ctx.settings.page_size_max
    too_big = live_api.get("monitor", "/api/v1/readiness/precincts?page_size=5001")
    assert too_big.status_code == 422
    assert too_big.json()["error"]["code"] == "validation_error"


def test_installer_sees_only_its_subtree(live_api: LiveApi) -> None:
    own = live_api.get("installer_a", "/api/v1/readiness/precincts").json()
    assert [p["code"] for p in own["items"]] == ["TST-01-0003"]
    assert live_api.get("installer_a", "/api/v1/readiness/rollup").json()["items"] == []
    assert live_api.get("installer_a", "/api/v1/readiness/sites/TST").status_code == 404
    assert live_api.get("installer_a", "/api/v1/readiness/precincts/TST-02-0001").status_code == 404
    district = live_api.get("installer_district", "/api/v1/readiness/rollup?level=district")
    assert [d["code"] for d in district.json()["items"]] == ["TST-01"]


def test_readiness_csv_export_for_the_commission(live_api: LiveApi) -> None:
    r = live_api.get("monitor", "/api/v1/readiness/export.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["precinct_code"]: row["state"] for row in rows} == EXPECTED_STATE
    missing = next(row for row in rows if row["precinct_code"] == "TST-01-0005")
    assert missing["district_code"] == "TST-01"
    assert "1 of 2 expected cameras registered" in missing["reasons"]


def test_a_write_shows_at_once_in_readiness(live_api: LiveApi) -> None:
    before = live_api.get("monitor", "/api/v1/readiness/precincts?state=ready").json()
    assert before["total"] == 1
    cam = live_api.fleet.camera("TST-01-0001")
    r = live_api.request("admin", "PATCH", f"/api/v1/cameras/{cam}", json={"enabled": False})
    assert r.status_code == 200, r.text
    after = live_api.get("monitor", "/api/v1/readiness/precincts?state=ready").json()
    assert after["total"] == 0


def test_repeated_reads_keep_scope_and_token_checks(live_api: LiveApi) -> None:
    url = "/api/v1/readiness/precincts?state=not_ready"
    for _ in range(2):
        assert live_api.get("admin", url).json()["total"] == 3
        own = live_api.get("installer_a", url).json()
        assert [p["code"] for p in own["items"]] == ["TST-01-0003"]
        assert live_api.get(None, url).status_code == 401
        forged = live_api.client.get(url, headers={"Authorization": "Bearer cf_forged"})
        assert forged.status_code == 401


def test_readiness_csv_cells_never_start_a_formula(live_api: LiveApi) -> None:
    cam = live_api.fleet.camera("TST-01-0002", "hall")
    name = '=HYPERLINK("http://example.invalid","open")'
    with transaction(live_api.sessions) as session:
        session.execute(update(Camera).where(Camera.id == cam).values(name=name))
    live_api.app.state.ctx.readiness.invalidate()
    r = live_api.get("monitor", "/api/v1/readiness/export.csv")
    row = next(
        row for row in csv.DictReader(io.StringIO(r.text)) if row["precinct_code"] == "TST-01-0002"
    )
    assert row["reasons"].startswith("'=HYPERLINK"), row["reasons"]
