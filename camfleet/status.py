"""The status model: per-check statuses, their severity, and site readiness states."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """One check's primary status, most severe first."""

    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    NOT_FOUND = "not_found"
    NO_VIDEO = "no_video"
    BLACK = "black"
    FROZEN = "frozen"
    COVERED = "covered"
    VIEW_CHANGED = "view_changed"
    BLURRED = "blurred"
    DEGRADED = "degraded"
    OK = "ok"


class Severity(StrEnum):
    """How much a status matters for readiness."""

    CRITICAL = "critical"
    WARNING = "warning"
    OK = "ok"


STATUS_ORDER: tuple[Status, ...] = tuple(Status)
CRITICAL = frozenset(
    {
        Status.UNREACHABLE,
        Status.AUTH_FAILED,
        Status.NOT_FOUND,
        Status.NO_VIDEO,
        Status.BLACK,
        Status.FROZEN,
        Status.COVERED,
    }
)
WARNING = frozenset({Status.VIEW_CHANGED, Status.BLURRED, Status.DEGRADED})


def severity(status: Status | str) -> Severity:
    """Return the severity of a status."""
    s = Status(status)
    if s in CRITICAL:
        return Severity.CRITICAL
    if s in WARNING:
        return Severity.WARNING
    return Severity.OK


def rank(status: Status | str) -> int:
    """Return the position of a status in the severity order (0 = most severe)."""
    return STATUS_ORDER.index(Status(status))


def worst(statuses: list[Status]) -> Status:
    """Return the most severe of the statuses (ok for none)."""
    return min(statuses, key=rank, default=Status.OK)


class Readiness(StrEnum):
    """A site's readiness, derived from its cameras' current states."""

    READY = "ready"
    DEGRADED = "degraded"
    NOT_READY = "not_ready"
    UNKNOWN = "unknown"
