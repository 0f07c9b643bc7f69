"""Check one camera's stream end to end: capture, analyse, outcome; plain data in and out."""

from __future__ import annotations

import logging
import time
import traceback

from camfleet.redact import redact_text, redact_url
from camfleet.timeutil import utcnow
from health.analysis import (
    Analysis,
    Image,
    ReferenceFeatures,
    StreamExpectation,
    analyse,
    thumbnail_jpeg,
)
from health.capture import Capture, capture
from health.errors import StreamError
from health.model import CaptureOptions as CaptureOptions
from health.model import CheckOutcome as CheckOutcome
from health.model import CheckTarget as CheckTarget
from health.model import Measurement as Measurement
from health.status import Reason, Status, severity_of
from health.thresholds import Thresholds

# CheckTarget, CheckOutcome, CaptureOptions and Measurement live in health.model, free of OpenCV
# for the sweep's parent process; they are re-exported above (import X as X), from their old home.

log = logging.getLogger(__name__)


def _settings(
    target: CheckTarget, measurements: dict[str, Measurement]
) -> tuple[Thresholds, ReferenceFeatures | None]:
    """Return the camera's thresholds and reference; bad stored ones fall back, flagged."""
    thresholds = Thresholds()
    try:
        thresholds = thresholds.with_overrides(target.thresholds)
    except ValueError as exc:
        log.warning("camera %d: threshold overrides ignored: %s", target.camera_id, exc)
        measurements["thresholds_invalid"] = 1
    reference = None
    if target.reference:
        try:
            reference = ReferenceFeatures.from_bytes(target.reference)
        except ValueError as exc:
            log.warning("camera %d: reference ignored: %s", target.camera_id, exc)
            measurements["reference_invalid"] = 1
    return thresholds, reference


def _capture_figures(result: Capture) -> dict[str, Measurement]:
    """Return the capture's own figures for the outcome."""
    return {
        "open_s": round(result.open_s, 3),
        "capture_s": round(result.elapsed_s, 3),
        "frames_decoded": result.decoded,
        "capture_end": result.ended,
    }


def _watch(
    target: CheckTarget,
    options: CaptureOptions,
    deadline: float,
    measurements: dict[str, Measurement],
) -> tuple[Analysis, Image | None]:
    """Capture and analyse the stream; raise StreamError when it cannot be watched."""
    thresholds, reference = _settings(target, measurements)
    result = capture(target.stream_uri, target.username, target.password, options, deadline)
    measurements.update(_capture_figures(result))
    expected = StreamExpectation(
        target.expected_width, target.expected_height, target.expected_fps, target.clock_skew_s
    )
    analysis = analyse(result.frames, expected, reference, thresholds)
    if result.ended == "stalled" and analysis.status is not Status.NO_VIDEO:
        # The stream stopped sending before the window was watched: whatever the frames it
        # did send show, the camera is not delivering video now.
        message = f"the stream stopped after {result.decoded} frames ({result.elapsed_s:.1f} s)"
        reasons = [Reason("stalled", message), *analysis.reasons]
        analysis = Analysis(Status.NO_VIDEO, reasons, analysis.measurements)
    return analysis, result.image


def _snapshot_thumbnail(
    target: CheckTarget, options: CaptureOptions, deadline: float
) -> bytes | None:
    """Return a thumbnail from the snapshot URI when the stream failed, if time allows."""
    remaining = deadline - time.monotonic()
    if not target.snapshot_uri or remaining < 0.2:
        return None
    # Imported on first use: httpx and its TLS stack add about 15 MB to a checker process,
    # which needs them only once a stream has failed on a camera with a snapshot URI.
    from health.snapshot import SnapshotError, fetch_snapshot

    try:
        image = fetch_snapshot(
            target.snapshot_uri,
            target.username,
            target.password,
            remaining,
            options.snapshot_max_bytes,
        )
    except SnapshotError as exc:
        log.info("camera %d: no snapshot: %s", target.camera_id, exc)
        return None
    return thumbnail_jpeg(image, options.thumbnail_width)


def _internal_error(target: CheckTarget, exc: Exception) -> Reason:
    """Log an unexpected failure with its traceback and return its reason, both password-free."""
    secrets = tuple(s for s in (target.password,) if s)
    trace = redact_text("".join(traceback.format_exception(exc)), secrets)
    log.error(
        "camera %d: check of %s failed:\n%s", target.camera_id, redact_url(target.stream_uri), trace
    )
    detail = redact_text(str(exc), secrets)
    return Reason("internal_error", f"check failed unexpectedly: {type(exc).__name__}: {detail}")


def run_check(target: CheckTarget, options: CaptureOptions) -> CheckOutcome:
    """Check one camera now and return its outcome; never raises."""
    started_at = utcnow()
    started = time.monotonic()
    deadline = started + options.deadline_s
    measurements: dict[str, Measurement] = {}
    thumbnail: bytes | None = None
    try:
        try:
            analysis, image = _watch(target, options, deadline, measurements)
            status, reasons = analysis.status, analysis.reasons
            measurements.update(analysis.measurements)
            if image is not None:
                thumbnail = thumbnail_jpeg(image, options.thumbnail_width)
        except StreamError as exc:
            status, reasons = exc.status, [exc.reason]
            thumbnail = _snapshot_thumbnail(target, options, deadline)
    except Exception as exc:  # noqa: BLE001 - the contract is an outcome, never an exception
        status, reasons = Status.NO_VIDEO, [_internal_error(target, exc)]
    duration = time.monotonic() - started
    return CheckOutcome(
        camera_id=target.camera_id,
        status=status,
        severity=severity_of(status),
        reasons=reasons,
        measurements=measurements,
        thumbnail=thumbnail,
        started_at=started_at,
        duration_s=round(duration, 3),
    )
