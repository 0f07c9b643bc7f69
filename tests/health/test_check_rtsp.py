"""run_check end to end against a simulated precinct: every feed kind, deadlines, no secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

import health.check
from health.analysis import decode_image, reference_features
from health.capture import CaptureOptions
from health.check import CheckOutcome, CheckTarget, run_check
from health.status import Severity, Status
from sim.onvif import OnvifDevice
from sim.onvif.services import SNAPSHOT_PREFIX
from sim.rtsp.server import RtspServer
from sim.spec import SUB, CameraSpec

PASSWORD = "Ch3ck-p@ss:w/rd"
# Concurrent checks in one process must not queue behind a hung camera's open.
OPTIONS = CaptureOptions(ffmpeg_thread_safe=True)
EXPECTED = {
    "live": Status.OK,
    "static": Status.OK,
    "night": Status.OK,
    "black": Status.BLACK,
    "frozen": Status.FROZEN,
    "frozen_clock": Status.FROZEN,
    "covered": Status.COVERED,
    "defocused": Status.BLURRED,
    "moved": Status.VIEW_CHANGED,
    "stall": Status.NO_VIDEO,
    "hang": Status.UNREACHABLE,
    "unauthorized": Status.AUTH_FAILED,
    "not_found": Status.NOT_FOUND,
    "refused": Status.UNREACHABLE,
}
REASON = {
    "stall": "stalled",
    "hang": "timeout",
    "refused": "refused",
    "unauthorized": "auth_failed",
    "not_found": "not_found",
}


def camera(index: int, feed: str) -> CameraSpec:
    return CameraSpec(
        site="CHK-01-0001",
        name=f"cam{index}",
        feed=feed,
        host=f"127.0.23.{index + 100}",
        rtsp_port=8554,
        onvif_port=8080,
        username="admin",
        password=PASSWORD,
        stall_after_s=0.6,  # inside the sampling window
        streams=(SUB,),
    )


CAMERAS = {feed: camera(i, feed) for i, feed in enumerate(EXPECTED)}


class Precinct:
    """The simulated RTSP server and one ONVIF device, on an event loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.rtsp = RtspServer(list(CAMERAS.values()))
        # The "refused" camera has no RTSP listener but still serves snapshots.
        self.onvif = OnvifDevice(CAMERAS["refused"])
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def run(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=300)  # type: ignore[arg-type]

    def __enter__(self) -> Precinct:
        self.thread.start()
        self.run(self.rtsp.start())
        self.run(self.onvif.start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self.onvif.stop())
            self.run(self.rtsp.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
            self.loop.close()


@pytest.fixture(scope="module")
def precinct() -> Iterator[Precinct]:
    with Precinct() as running:
        yield running


@pytest.fixture(scope="module")
def reference(precinct: Precinct) -> bytes:
    """Return the installer's reference: taken from the live feed's thumbnail, as on site."""
    outcome = run_check(target(precinct, "live"), OPTIONS)
    assert outcome.status is Status.OK
    assert outcome.thumbnail is not None
    picture = decode_image(outcome.thumbnail)
    assert picture is not None
    return reference_features(picture).to_bytes()


def target(precinct: Precinct, feed: str, reference: bytes | None = None) -> CheckTarget:
    cam = CAMERAS[feed]
    return CheckTarget(
        camera_id=list(CAMERAS).index(feed) + 1,
        stream_uri=precinct.rtsp.url(cam, "sub"),
        username=cam.username,
        password=cam.password,
        expected_width=640,
        expected_height=360,
        expected_fps=10,
        reference=reference,
    )


def check_all(precinct: Precinct, reference: bytes) -> dict[str, CheckOutcome]:
    """Check every camera at once, as a sweep worker with threads would."""
    targets = {feed: target(precinct, feed, reference) for feed in EXPECTED}
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        futures = {feed: pool.submit(run_check, t, OPTIONS) for feed, t in targets.items()}
        return {feed: future.result() for feed, future in futures.items()}


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_every_feed_kind_gets_its_status_every_time(
    precinct: Precinct, reference: bytes, round_: int
) -> None:
    outcomes = check_all(precinct, reference)
    got = {feed: outcome.status for feed, outcome in outcomes.items()}
    assert got == EXPECTED, {f: [r.code for r in o.reasons] for f, o in outcomes.items()}
    for feed, outcome in outcomes.items():
        assert outcome.duration_s <= OPTIONS.deadline_s + 0.5, feed
        if feed in REASON:
            assert outcome.reasons[0].code == REASON[feed], outcome.reasons
        if outcome.status is Status.OK:
            assert outcome.reasons == []
            assert outcome.thumbnail is not None
        else:
            assert outcome.reasons[0].code
            assert outcome.reasons[0].message


def test_live_outcome_carries_measurements_and_thumbnail(
    precinct: Precinct, reference: bytes
) -> None:
    outcome = run_check(target(precinct, "live", reference), OPTIONS)
    assert (outcome.status, outcome.severity) == (Status.OK, Severity.OK)
    m = outcome.measurements
    assert (m["width"], m["height"]) == (640, 360)
    assert m["fps"] == pytest.approx(10, abs=1)
    assert m["frames_analysed"] == OPTIONS.samples
    assert float(m["view_similarity"]) > 0.7
    assert float(m["open_s"]) < 1.0
    assert outcome.duration_s < 2.5
    picture = decode_image(outcome.thumbnail or b"")
    assert picture is not None
    assert picture.shape == (180, 320, 3)
    assert outcome.started_at.tzinfo is not None
    assert outcome.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_wrong_password_is_auth_failed(precinct: Precinct) -> None:
    outcome = run_check(replace(target(precinct, "live"), password="not-it"), OPTIONS)
    assert (outcome.status, outcome.severity) == (Status.AUTH_FAILED, Severity.CRITICAL)
    assert "rejected the credentials" in outcome.reasons[0].message


def test_stall_and_hang_end_within_the_deadline(precinct: Precinct) -> None:
    for feed in ("stall", "hang"):
        started = time.monotonic()
        outcome = run_check(target(precinct, feed), OPTIONS)
        assert time.monotonic() - started <= OPTIONS.deadline_s
        assert outcome.status is EXPECTED[feed]


def test_degraded_when_the_profile_promises_more(precinct: Precinct) -> None:
    promised = replace(
        target(precinct, "live"),
        expected_width=1280,
        expected_height=720,
        expected_fps=15,
        clock_skew_s=-7.5,
    )
    outcome = run_check(promised, OPTIONS)
    assert (outcome.status, outcome.severity) == (Status.DEGRADED, Severity.WARNING)
    assert {r.code for r in outcome.reasons} == {"low_fps", "low_resolution", "clock_skew"}


def test_snapshot_gives_a_thumbnail_when_the_stream_fails(precinct: Precinct) -> None:
    cam = CAMERAS["refused"]
    snapshot = f"http://{cam.host}:{cam.onvif_port}{SNAPSHOT_PREFIX}sub.jpg"
    outcome = run_check(replace(target(precinct, "refused"), snapshot_uri=snapshot), OPTIONS)
    assert outcome.status is Status.UNREACHABLE
    picture = decode_image(outcome.thumbnail or b"")
    assert picture is not None
    assert picture.shape[1] == 320
    wrong = replace(target(precinct, "refused"), snapshot_uri=snapshot, password="nope")
    assert run_check(wrong, OPTIONS).thumbnail is None


def test_bad_stored_settings_fall_back_and_are_flagged(precinct: Precinct) -> None:
    odd = replace(target(precinct, "live"), thresholds={"no_such": 1.0}, reference=b"garbage bytes")
    outcome = run_check(odd, OPTIONS)
    assert outcome.status is Status.OK
    assert outcome.measurements["thresholds_invalid"] == 1
    assert outcome.measurements["reference_invalid"] == 1


def test_threshold_overrides_apply(precinct: Precinct) -> None:
    # A night room is dark; a site that wants it flagged can lower the black picture share.
    strict = replace(target(precinct, "night"), thresholds={"black_picture_share": 0.5})
    assert run_check(strict, OPTIONS).status is Status.OK
    stricter = replace(
        target(precinct, "night"), thresholds={"black_pixel_level": 0.2, "black_picture_share": 0.5}
    )
    assert run_check(stricter, OPTIONS).status is Status.BLACK


def test_unexpected_failure_becomes_an_outcome_without_the_password(
    precinct: Precinct, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom at rtsp://admin:{PASSWORD}@127.0.23.100/x with {PASSWORD}")

    # No real peer can make the capture code itself fail, so this one path is patched.
    monkeypatch.setattr(health.check, "capture", explode)
    outcome = run_check(target(precinct, "live"), OPTIONS)
    assert outcome.status is Status.NO_VIDEO
    assert outcome.reasons[0].code == "internal_error"
    assert "RuntimeError" in outcome.reasons[0].message
    assert PASSWORD not in outcome.reasons[0].message
    assert "Traceback" in caplog.text
    assert "explode" in caplog.text
    assert PASSWORD not in caplog.text


def test_target_and_outcome_are_plain_data(precinct: Precinct, reference: bytes) -> None:
    t = replace(target(precinct, "moved", reference), thresholds={"blur_min_ratio": 0.5})
    assert pickle.loads(pickle.dumps(t)) == t
    as_json = json.loads(json.dumps(t.to_dict()))
    assert as_json["password"] is None
    assert CheckTarget.from_dict(as_json) == replace(t, password=None)
    assert CheckTarget.from_dict(t.to_dict(with_password=True)) == t
    outcome = run_check(t, OPTIONS)
    assert pickle.loads(pickle.dumps(outcome)) == outcome
    data = json.loads(json.dumps(outcome.to_dict()))
    assert CheckOutcome.from_dict(data) == outcome


def test_password_never_appears_anywhere(
    precinct: Precinct,
    reference: bytes,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    outcomes = check_all(precinct, reference)
    wrong = run_check(replace(target(precinct, "live"), password=PASSWORD + "x"), OPTIONS)
    out, err = capfd.readouterr()
    shown = [out, err, caplog.text, repr(wrong), json.dumps(wrong.to_dict())]
    for outcome in outcomes.values():
        shown += [repr(outcome), json.dumps(outcome.to_dict())]
    shown.append(repr(target(precinct, "live")))
    for text in shown:
        assert PASSWORD not in text
    assert "password" not in repr(target(precinct, "live")).lower()
