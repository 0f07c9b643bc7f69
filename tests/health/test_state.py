"""State transitions on plain values: soft/hard, confirmation, recovery, flapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from health.state import (
    StateRules,
    StateSnapshot,
    StateType,
    current_status,
    needs_confirmation,
    next_state,
    status_changes,
)
from health.status import Status

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
RULES = StateRules(confirm_attempts=2, flap_window=6, flap_changes=4)


def run(statuses: list[Status], rules: StateRules = RULES) -> list[StateSnapshot]:
    """Feed statuses one minute apart and return every snapshot."""
    out: list[StateSnapshot] = []
    prev: StateSnapshot | None = None
    for i, status in enumerate(statuses):
        prev = next_state(prev, status, T0 + timedelta(minutes=i), rules)
        out.append(prev)
    return out


def test_first_ok_is_hard_ok() -> None:
    (s,) = run([Status.OK])
    assert (s.hard_status, s.state_type, s.attempt) == (Status.OK, StateType.HARD, 1)
    assert s.last_ok_at == T0
    assert s.last_change_at == T0
    assert not needs_confirmation(s)


def test_failure_is_soft_until_confirmed() -> None:
    ok, soft, hard = run([Status.OK, Status.BLACK, Status.BLACK])
    assert soft.state_type is StateType.SOFT
    assert soft.status is Status.BLACK
    assert soft.hard_status is Status.OK
    assert soft.attempt == 1
    assert needs_confirmation(soft)
    assert soft.last_change_at == ok.last_change_at
    assert hard.state_type is StateType.HARD
    assert hard.hard_status is Status.BLACK
    assert hard.attempt == 2
    assert not needs_confirmation(hard)
    assert hard.last_change_at == T0 + timedelta(minutes=2)
    assert hard.last_ok_at == T0


def test_three_attempts_need_two_rechecks() -> None:
    rules = StateRules(confirm_attempts=3, flap_window=10, flap_changes=9)
    states = run([Status.OK, Status.FROZEN, Status.UNREACHABLE, Status.UNREACHABLE], rules)
    assert [s.state_type for s in states[1:]] == [StateType.SOFT, StateType.SOFT, StateType.HARD]
    assert [s.attempt for s in states[1:]] == [1, 2, 3]
    # The latest failure is the one that becomes hard.
    assert states[-1].hard_status is Status.UNREACHABLE


def test_recovery_is_immediate_and_hard() -> None:
    *_, hard, ok = run([Status.OK, Status.COVERED, Status.COVERED, Status.OK])
    assert hard.hard_status is Status.COVERED
    assert (ok.hard_status, ok.state_type, ok.attempt) == (Status.OK, StateType.HARD, 1)
    assert ok.last_change_at == ok.last_check_at == ok.last_ok_at


def test_soft_failure_cleared_by_recheck_keeps_hard_ok_unchanged() -> None:
    first, soft, ok = run([Status.OK, Status.NO_VIDEO, Status.OK])
    assert soft.hard_status is Status.OK
    assert ok.last_change_at == first.last_change_at == T0


def test_hard_failure_changes_kind_without_confirmation() -> None:
    *_, black, unreachable = run([Status.BLACK, Status.BLACK, Status.UNREACHABLE])
    assert black.hard_status is Status.BLACK
    assert unreachable.state_type is StateType.HARD
    assert unreachable.hard_status is Status.UNREACHABLE
    assert unreachable.last_change_at == unreachable.last_check_at


def test_same_hard_failure_keeps_change_time() -> None:
    states = run([Status.BLACK, Status.BLACK, Status.BLACK, Status.BLACK])
    assert states[-1].last_change_at == states[1].last_change_at


def test_never_seen_camera_failing_is_not_ok_while_soft() -> None:
    (s,) = run([Status.AUTH_FAILED])
    assert s.state_type is StateType.SOFT
    assert needs_confirmation(s)
    assert s.hard_status is Status.AUTH_FAILED
    assert s.last_ok_at is None


def test_single_attempt_rule_makes_failures_hard_at_once() -> None:
    rules = StateRules(confirm_attempts=1, flap_window=4, flap_changes=3)
    _, s = run([Status.OK, Status.BLURRED], rules)
    assert s.state_type is StateType.HARD
    assert s.hard_status is Status.BLURRED


def test_warnings_need_confirmation_too() -> None:
    _, s = run([Status.OK, Status.DEGRADED])
    assert needs_confirmation(s)
    assert s.hard_status is Status.OK


def test_recent_is_bounded_newest_last() -> None:
    states = run([Status.OK] * 3 + [Status.BLACK] * 5)
    assert len(states[-1].recent) == RULES.flap_window
    assert states[-1].recent[-1] is Status.BLACK
    assert states[-1].recent[:1] == (Status.OK,)


def test_flapping_flagged_and_cleared() -> None:
    pattern = [Status.OK, Status.NO_VIDEO] * 3
    states = run(pattern)
    assert status_changes(states[-1].recent) == 5
    assert states[-1].flapping
    assert not states[2].flapping  # only two changes so far
    steady = run(pattern + [Status.OK] * 6)
    assert not steady[-1].flapping


@pytest.mark.parametrize("bad", [(0, 10, 4), (2, 1, 4), (2, 10, 0)])
def test_rules_are_validated(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        StateRules(*bad)


def test_rules_from_settings() -> None:
    from camfleet.config import load_settings

    settings = load_settings(confirm_attempts=3, flap_window=12, flap_changes=5)
    assert StateRules.from_settings(settings) == StateRules(3, 12, 5)


def test_stale_state_counts_as_unknown() -> None:
    (s,) = run([Status.OK])
    hour = 3600.0
    assert current_status(s, T0 + timedelta(hours=2), hour) is Status.OK
    assert current_status(s, T0 + timedelta(hours=2, seconds=1), hour) is None
    assert current_status(None, T0, hour) is None
