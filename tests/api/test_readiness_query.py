"""The snapshot's shortcuts agree with the core readiness rules, on random fleets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from camfleet.readiness import CameraView, not_ready_sort_key, precinct_readiness
from camfleet.readiness_query import (
    PrecinctEntry,
    SiteInfo,
    _AllOkMemo,
    build_snapshot,
    precinct_from_rows,
)
from camfleet.status import Readiness, Status

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOUR = 3600.0

ages = st.integers(min_value=0, max_value=3 * 3600)
rows = st.lists(
    st.tuples(
        st.booleans(),
        st.sampled_from([s.value for s in Status] + [None]),
        ages,
    ),
    max_size=6,
)


def _rows(
    raw: list[tuple[bool, str | None, int]],
) -> list[tuple[int, str, bool, str | None, datetime | None]]:
    return [
        (i, f"cam{i}", enabled, hard, NOW - timedelta(seconds=age) if hard else None)
        for i, (enabled, hard, age) in enumerate(raw)
    ]


@settings(max_examples=300, deadline=None)
@given(rows, st.integers(min_value=0, max_value=6))
def test_all_ok_shortcut_matches_the_rules(
    raw: list[tuple[bool, str | None, int]], expected: int
) -> None:
    memo = _AllOkMemo(NOW, HOUR)
    cams = _rows(raw)
    direct = precinct_readiness(
        [CameraView(i, n, e, Status(h) if h else None, t) for i, n, e, h, t in cams],
        expected,
        NOW,
        HOUR,
    )
    assert precinct_from_rows(cams, expected, NOW, HOUR) == direct
    if cams and memo.all_ok(cams):
        assert memo.readiness(cams, expected) == direct


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(rows, st.integers(min_value=0, max_value=4)), max_size=25))
def test_snapshot_order_and_rollups_follow_the_rules(
    precincts: list[tuple[list[tuple[bool, str | None, int]], int]],
) -> None:
    sites = {"R": SiteInfo(1, "R", "R", "region", "/R/")}
    entries = []
    for n, (raw, expected) in enumerate(precincts):
        code = f"P{n:03d}"
        info = SiteInfo(n + 10, code, code, "precinct", f"/R/{code}/")
        sites[code] = info
        entries.append(PrecinctEntry(info, precinct_from_rows(_rows(raw), expected, NOW, HOUR)))
    snap = build_snapshot(NOW, sites, entries)
    want = sorted(entries, key=lambda e: not_ready_sort_key(e.readiness, e.site.code))
    assert [e.site.code for e in snap.precincts] == [e.site.code for e in want]
    assert snap.precincts_under("R") == snap.precincts
    if entries:
        roll = snap.rollup_of("R")
        assert roll.total == len(entries)
        for state in Readiness:
            assert roll.counts[state] == sum(e.readiness.state is state for e in entries)
