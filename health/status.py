"""The check status model: statuses, their severity and machine-readable reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Primary outcome of one check, declared from most to least severe."""

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
    """How urgently a status needs attention."""

    CRITICAL = "critical"
    WARNING = "warning"
    OK = "ok"


_ORDER: dict[Status, int] = {status: index for index, status in enumerate(Status)}
_WARNINGS = frozenset({Status.VIEW_CHANGED, Status.BLURRED, Status.DEGRADED})


def severity_of(status: Status) -> Severity:
    """Return the severity of a status."""
    if status is Status.OK:
        return Severity.OK
    return Severity.WARNING if status in _WARNINGS else Severity.CRITICAL


def rank(status: Status) -> int:
    """Return the position of a status in the severity order (0 is the most severe)."""
    return _ORDER[status]


def most_severe(statuses: list[Status]) -> Status:
    """Return the most severe of the given statuses, or ok when there are none."""
    return min(statuses, key=rank, default=Status.OK)


@dataclass(frozen=True)
class Reason:
    """One machine-readable finding behind a status."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Return the reason as a JSON-ready mapping."""
        return {"code": self.code, "message": self.message}
