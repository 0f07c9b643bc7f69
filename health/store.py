"""Store check outcomes: history rows and each camera's current state, a batch per transaction."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from camfleet.models import CameraState, CheckResult
from health.model import CheckOutcome
from health.state import StateRules, StateSnapshot, StateType, next_state
from health.status import Status

_KNOWN = frozenset(s.value for s in Status)


@dataclass(frozen=True)
class CheckRecord:
    """One outcome to store: the camera, which attempt within its sweep, and the outcome."""

    camera_id: int
    attempt: int
    outcome: CheckOutcome


def json_safe(measurements: Mapping[str, Any]) -> dict[str, Any]:
    """Return measurements that every JSON column accepts (no NaN or infinity)."""
    out: dict[str, Any] = {}
    for key, value in measurements.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[str(key)] = None
        else:
            out[str(key)] = value
    return out


def snapshot_of(row: CameraState) -> StateSnapshot:
    """Return the state held in a camera_states row."""
    return StateSnapshot(
        status=Status(row.status),
        hard_status=Status(row.hard_status),
        state_type=StateType(row.state_type),
        attempt=row.attempt,
        last_check_at=row.last_check_at,
        last_change_at=row.last_change_at,
        last_ok_at=row.last_ok_at,
        recent=tuple(Status(s) for s in row.recent or () if s in _KNOWN),
        flapping=row.flapping,
    )


def _apply(row: CameraState, snap: StateSnapshot, outcome: CheckOutcome, check_id: int) -> None:
    """Copy a snapshot and its outcome's details into a camera_states row."""
    row.status = snap.status.value
    row.hard_status = snap.hard_status.value
    row.state_type = snap.state_type.value
    row.attempt = snap.attempt
    row.reasons = [r.to_dict() for r in outcome.reasons]
    row.measurements = json_safe(outcome.measurements)
    row.last_check_at = snap.last_check_at
    row.last_change_at = snap.last_change_at
    row.last_ok_at = snap.last_ok_at
    row.recent = [s.value for s in snap.recent]
    row.flapping = snap.flapping
    row.last_check_id = check_id
    if outcome.thumbnail:
        row.thumbnail = outcome.thumbnail
        row.thumbnail_at = outcome.started_at


def _stored_attempts(
    session: Session, sweep_id: int, camera_ids: Iterable[int]
) -> set[tuple[int, int]]:
    """Return the (camera, attempt) pairs this sweep has already stored."""
    rows = session.execute(
        select(CheckResult.camera_id, CheckResult.attempt).where(
            CheckResult.sweep_id == sweep_id, CheckResult.camera_id.in_(set(camera_ids))
        )
    )
    return {(int(c), int(a)) for c, a in rows}


def record_checks(
    session: Session,
    sweep_id: int | None,
    records: Sequence[CheckRecord],
    rules: StateRules,
) -> dict[int, StateSnapshot]:
    """Store outcomes and move each camera's state on; return the new states by camera.

    Records of one camera are applied in the order given. A (sweep, camera, attempt) already
    stored is skipped, so storing a batch again after a crash adds nothing. The caller owns the
    transaction: commit once per batch.
    """
    if not records:
        return {}
    ids = {r.camera_id for r in records}
    done = _stored_attempts(session, sweep_id, ids) if sweep_id is not None else set()
    rows = {
        s.camera_id: s
        for s in session.scalars(select(CameraState).where(CameraState.camera_id.in_(ids)))
    }
    states: dict[int, StateSnapshot] = {}
    pending: list[tuple[CheckResult, StateSnapshot, CheckOutcome]] = []
    for record in records:
        if (record.camera_id, record.attempt) in done:
            continue
        done.add((record.camera_id, record.attempt))
        outcome = record.outcome
        check = CheckResult(
            camera_id=record.camera_id,
            sweep_id=sweep_id,
            attempt=record.attempt,
            started_at=outcome.started_at,
            duration_ms=max(0, round(outcome.duration_s * 1000)),
            status=outcome.status.value,
            severity=outcome.severity.value,
            reasons=[r.to_dict() for r in outcome.reasons],
            measurements=json_safe(outcome.measurements),
        )
        session.add(check)
        row = rows.get(record.camera_id)
        previous = states.get(record.camera_id) or (snapshot_of(row) if row is not None else None)
        snap = next_state(previous, outcome.status, outcome.started_at, rules)
        states[record.camera_id] = snap
        pending.append((check, snap, outcome))
    session.flush()  # one round of inserts gives every history row its id
    for check, snap, outcome in pending:
        row = rows.get(check.camera_id)
        if row is None:
            row = rows[check.camera_id] = CameraState(camera_id=check.camera_id)
            session.add(row)
        _apply(row, snap, outcome, check.id)
    session.flush()
    return states


def load_states(session: Session, camera_ids: Iterable[int]) -> dict[int, StateSnapshot]:
    """Return the current states of the given cameras (cameras never checked are absent)."""
    rows = session.scalars(select(CameraState).where(CameraState.camera_id.in_(set(camera_ids))))
    return {r.camera_id: snapshot_of(r) for r in rows}
