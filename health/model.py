"""Plain data that crosses between a sweep and its checkers: targets, outcomes, capture options.

Kept free of OpenCV, NumPy and httpx: the sweep's parent process builds targets, sends options
and stores outcomes but never decodes video, and importing those libraries would cost it about
55 MB of resident memory for nothing. tests/health/test_model_imports.py holds it to that.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from health.status import Reason, Severity, Status

Measurement = float | int | str


@dataclass(frozen=True)
class CheckTarget:
    """Everything a worker needs to check one camera; the password is never shown."""

    camera_id: int
    stream_uri: str
    """RTSP URI without credentials."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    expected_width: int | None = None
    expected_height: int | None = None
    expected_fps: float | None = None
    snapshot_uri: str | None = None
    """HTTP snapshot URI (ONVIF GetSnapshotUri) for a thumbnail when the stream fails."""
    reference: bytes | None = field(default=None, repr=False)
    """ReferenceFeatures.to_bytes() of the installer's approved view."""
    thresholds: dict[str, float] = field(default_factory=dict)
    """Per-camera threshold overrides, by Thresholds field name."""
    clock_skew_s: float | None = None
    """Camera clock minus server clock, as measured over ONVIF."""

    def to_dict(self, *, with_password: bool = False) -> dict[str, Any]:
        """Return the target as JSON-ready data; the password only when explicitly asked for.

        A task queue logs its messages' arguments, so a worker should fetch credentials
        itself unless the transport is trusted and unlogged.
        """
        data = asdict(self)
        data["reference"] = base64.b64encode(self.reference).decode() if self.reference else None
        if not with_password:
            data["password"] = None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckTarget:
        """Rebuild a target from to_dict() data."""
        values = dict(data)
        if values.get("reference"):
            values["reference"] = base64.b64decode(values["reference"])
        values["thresholds"] = dict(values.get("thresholds") or {})
        return cls(**values)


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check: status, reasons, measurements, thumbnail; password-free."""

    camera_id: int
    status: Status
    severity: Severity
    reasons: list[Reason]
    measurements: dict[str, Measurement]
    thumbnail: bytes | None = field(repr=False)
    started_at: datetime
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome as JSON-ready data (thumbnail base64-encoded)."""
        thumbnail = base64.b64encode(self.thumbnail).decode("ascii") if self.thumbnail else None
        return {
            "camera_id": self.camera_id,
            "status": self.status.value,
            "severity": self.severity.value,
            "reasons": [r.to_dict() for r in self.reasons],
            "measurements": dict(self.measurements),
            "thumbnail": thumbnail,
            "started_at": self.started_at.isoformat(),
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckOutcome:
        """Rebuild an outcome from to_dict() data."""
        thumbnail = data.get("thumbnail")
        return cls(
            camera_id=int(data["camera_id"]),
            status=Status(data["status"]),
            severity=Severity(data["severity"]),
            reasons=[Reason(str(r["code"]), str(r["message"])) for r in data["reasons"]],
            measurements=dict(data["measurements"]),
            thumbnail=base64.b64decode(thumbnail) if thumbnail else None,
            started_at=datetime.fromisoformat(data["started_at"]),
            duration_s=float(data["duration_s"]),
        )


@dataclass(frozen=True)
class CaptureOptions:
    """How one check watches a stream: sampling window, timeouts and FFmpeg probing."""

    window_s: float = 1.2
    """Seconds of stream to watch after the first frame; more than one on-screen clock tick."""
    samples: int = 7
    """Frames decoded to pictures and analysed, spread evenly over the window."""
    open_timeout_s: float = 3.0
    """Limit on RTSP connect, handshake and stream probing."""
    read_timeout_s: float = 2.0
    """Limit on waiting for any one frame; a stream silent this long has stalled."""
    probe_timeout_s: float = 2.0
    """Limit on the raw RTSP DESCRIBE that diagnoses a stream that did not open."""
    deadline_s: float = 8.0
    """Hard limit on the whole check, from the first packet to the outcome."""
    analyze_duration_us: int = 100_000
    """FFmpeg analyzeduration: how much stream to read before the first frame (microseconds)."""
    probe_size: int = 32_768
    """FFmpeg probesize in bytes; small keeps time to first frame near 0.2 s."""
    ffmpeg_thread_safe: bool | None = None
    """Let OpenCV open streams concurrently in one process (OPENCV_FFMPEG_IS_THREAD_SAFE).

    OpenCV reads it at every open. Unlocked, threads open in parallel; locked (the default of
    OpenCV), one hung camera holds every other open in the process for its open timeout.
    None leaves the environment as it is."""
    ffmpeg_log_level: int | None = -8
    """FFmpeg log level (OPENCV_FFMPEG_LOGLEVEL; -8 is quiet, 16 errors); None leaves it.

    Quiet by default: every failure FFmpeg would print is diagnosed into the outcome anyway.
    Read by OpenCV once, at the first open in the process."""
    decoder_threads: int = 1
    """H.264 decoder threads per stream; one avoids frame-threading delay and suits many
    concurrent checks on few cores."""
    thumbnail_width: int = 320
    """Width of the thumbnail JPEG kept with each outcome."""
    snapshot_max_bytes: int = 4 * 1024 * 1024
    """Largest snapshot image accepted from a camera's HTTP snapshot URI."""

    def __post_init__(self) -> None:
        """Reject option sets that cannot keep the deadline."""
        if self.window_s <= 0 or self.samples < 2 or self.decoder_threads < 0:
            raise ValueError("window_s must be positive, samples at least 2, threads >= 0")
        if min(self.open_timeout_s, self.read_timeout_s, self.probe_timeout_s) <= 0:
            raise ValueError("timeouts must be positive")
        needed = self.open_timeout_s + self.window_s + self.read_timeout_s
        if self.deadline_s < needed:
            raise ValueError(
                f"deadline_s={self.deadline_s} is shorter than open + window + read "
                f"timeouts ({needed:.1f} s)"
            )

    def ffmpeg_options(self) -> str:
        """Return the OPENCV_FFMPEG_CAPTURE_OPTIONS value for these options."""
        return (
            f"rtsp_transport;tcp|analyzeduration;{self.analyze_duration_us}"
            f"|probesize;{self.probe_size}"
        )
