"""The check status model, as health uses it: the core's statuses plus machine-readable reasons.

Statuses and severities are defined once, in camfleet.status (readiness rules use them too);
this module adds the Reason record and the names the health code reads best with.
"""

from __future__ import annotations

from dataclasses import dataclass

from camfleet.status import Severity, Status, rank, severity, worst

__all__ = ["Reason", "Severity", "Status", "most_severe", "rank", "severity_of"]


def severity_of(status: Status) -> Severity:
    """Return the severity of a status."""
    return severity(status)


def most_severe(statuses: list[Status]) -> Status:
    """Return the most severe of the given statuses, or ok when there are none."""
    return worst(statuses)


@dataclass(frozen=True)
class Reason:
    """One machine-readable finding behind a status."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Return the reason as a JSON-ready mapping."""
        return {"code": self.code, "message": self.message}
