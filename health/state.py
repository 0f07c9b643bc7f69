"""Camera states from check outcomes: soft and hard states, confirmation, recovery, flapping.

Pure functions on plain values, in the manner of Nagios: a failing check puts the camera into a
soft state; the failure becomes the hard state only when ``confirm_attempts`` consecutive checks
agree that the camera is failing. A passing check returns the camera to a hard ``ok`` at once.
Flapping is flagged when the recent checks change status often.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from camfleet.readiness import is_stale
from health.status import Status

if TYPE_CHECKING:
    from camfleet.config import Settings


class StateType(StrEnum):
    """Whether a camera's state is confirmed (hard) or awaiting confirmation (soft)."""

    SOFT = "soft"
    HARD = "hard"


@dataclass(frozen=True)
class StateRules:
    """The settings that drive state transitions."""

    confirm_attempts: int = 2
    flap_window: int = 10
    flap_changes: int = 4

    def __post_init__(self) -> None:
        """Reject rules that cannot describe a state machine."""
        if self.confirm_attempts < 1 or self.flap_window < 2 or self.flap_changes < 1:
            raise ValueError("confirm_attempts ≥ 1, flap_window ≥ 2 and flap_changes ≥ 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> StateRules:
        """Return the rules configured in settings."""
        return cls(settings.confirm_attempts, settings.flap_window, settings.flap_changes)


@dataclass(frozen=True)
class StateSnapshot:
    """One camera's state after a check.

    ``status`` is the latest check's status; ``hard_status`` the confirmed one that readiness
    uses. ``attempt`` counts consecutive failing checks (1 for ok). ``last_change_at`` is when
    ``hard_status`` last changed. ``recent`` holds the latest statuses, newest last.
    """

    status: Status
    hard_status: Status
    state_type: StateType
    attempt: int
    last_check_at: datetime
    last_change_at: datetime
    last_ok_at: datetime | None
    recent: tuple[Status, ...]
    flapping: bool


def status_changes(recent: tuple[Status, ...]) -> int:
    """Return how often the status changed between consecutive recent checks."""
    return sum(1 for a, b in itertools.pairwise(recent) if a != b)


def _with_history(
    snapshot: StateSnapshot, previous: StateSnapshot | None, rules: StateRules
) -> StateSnapshot:
    """Return the snapshot with its recent statuses and flapping flag brought up to date."""
    history = previous.recent if previous is not None else ()
    recent = (*history, snapshot.status)[-rules.flap_window :]
    return replace(snapshot, recent=recent, flapping=status_changes(recent) >= rules.flap_changes)


def next_state(
    previous: StateSnapshot | None,
    status: Status,
    checked_at: datetime,
    rules: StateRules,
) -> StateSnapshot:
    """Return the camera's state after a check with this status at this time."""
    if status is Status.OK:
        changed = previous is None or previous.hard_status is not Status.OK
        snapshot = StateSnapshot(
            status=status,
            hard_status=Status.OK,
            state_type=StateType.HARD,
            attempt=1,
            last_check_at=checked_at,
            last_change_at=checked_at if changed or previous is None else previous.last_change_at,
            last_ok_at=checked_at,
            recent=(),
            flapping=False,
        )
        return _with_history(snapshot, previous, rules)
    if (
        previous is not None
        and previous.state_type is StateType.HARD
        and (previous.hard_status is not Status.OK)
    ):
        # Already confirmed failing: a different failure replaces it without a new confirmation.
        snapshot = replace(
            previous,
            status=status,
            hard_status=status,
            attempt=rules.confirm_attempts,
            last_check_at=checked_at,
            last_change_at=(
                previous.last_change_at if previous.hard_status is status else checked_at
            ),
        )
        return _with_history(snapshot, previous, rules)
    attempt = 1
    if previous is not None and previous.status is not Status.OK:
        attempt = min(previous.attempt + 1, rules.confirm_attempts)
    hard_status: Status
    if attempt >= rules.confirm_attempts:
        hard_status = status
        state_type = StateType.HARD
    else:
        # With no confirmed state to fall back on, an unconfirmed failure is shown as it is:
        # a camera never seen working must not count as ok.
        hard_status = previous.hard_status if previous is not None else status
        state_type = StateType.SOFT
    changed = previous is None or previous.hard_status is not hard_status
    snapshot = StateSnapshot(
        status=status,
        hard_status=hard_status,
        state_type=state_type,
        attempt=attempt,
        last_check_at=checked_at,
        last_change_at=checked_at if changed or previous is None else previous.last_change_at,
        last_ok_at=previous.last_ok_at if previous is not None else None,
        recent=(),
        flapping=False,
    )
    return _with_history(snapshot, previous, rules)


def current_status(
    snapshot: StateSnapshot | None, now: datetime, sweep_interval_s: float
) -> Status | None:
    """Return the hard status that counts now, or None (unknown) when never checked or stale.

    Stale means no check for more than 2 × the sweep interval: it counts as unknown, never ok.
    """
    if snapshot is None or is_stale(snapshot.last_check_at, now, sweep_interval_s):
        return None
    return snapshot.hard_status


def needs_confirmation(snapshot: StateSnapshot) -> bool:
    """Return whether a quick re-check should confirm (or clear) this soft failure."""
    return snapshot.state_type is StateType.SOFT and snapshot.status is not Status.OK
