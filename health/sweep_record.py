"""The sweep record: claim a scope without overlap, report progress, cancel, finish."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from camfleet.db import transaction
from camfleet.models import Site, Sweep
from camfleet.timeutil import utcnow

# A sweep heartbeats every second or so; one silent this long lost its owner process.
HEARTBEAT_STALE_S = 60.0
# Any constant: PostgreSQL advisory lock that serialises sweep claims.
_CLAIM_LOCK_KEY = 0x63616D66


class SweepStatus(StrEnum):
    """Where a sweep is in its life."""

    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class SweepBusy(RuntimeError):
    """A running sweep already covers some of these cameras."""

    def __init__(self, sweep_id: int, scope_path: str) -> None:
        super().__init__(f"sweep {sweep_id} is already running over {scope_path}")
        self.sweep_id = sweep_id


def scopes_overlap(a: str, b: str) -> bool:
    """Return whether two subtree paths share cameras (one is a prefix of the other)."""
    return a.startswith(b) or b.startswith(a)


def _serialise_claims(session: Session) -> None:
    """Make concurrent claims run one after another, on either backend."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIM_LOCK_KEY})
    else:
        # A write as the transaction's first statement takes SQLite's write lock before any
        # read, so a second claimer waits here instead of reading a snapshot that goes stale.
        session.execute(update(Sweep).where(Sweep.id == -1).values(done=0))


def interrupt_stale(session: Session, now: datetime, stale_s: float) -> list[int]:
    """Mark running sweeps whose owner stopped heartbeating as interrupted; return their ids."""
    cutoff = now - timedelta(seconds=stale_s)
    stale = session.scalars(
        select(Sweep).where(Sweep.status == SweepStatus.RUNNING, Sweep.heartbeat_at < cutoff)
    ).all()
    for sweep in stale:
        sweep.status = SweepStatus.INTERRUPTED
        sweep.finished_at = now
        sweep.error = f"no heartbeat since {sweep.heartbeat_at.isoformat()}; its process stopped"
    return [s.id for s in stale]


def claim_sweep(
    session: Session,
    scope: Site | None,
    trigger: str,
    owner: str,
    stale_s: float = HEARTBEAT_STALE_S,
) -> Sweep:
    """Create a running sweep over a scope, or raise SweepBusy if a live one overlaps it."""
    _serialise_claims(session)
    now = utcnow()
    interrupt_stale(session, now, stale_s)
    path = scope.path if scope is not None else "/"
    for other in session.scalars(select(Sweep).where(Sweep.status == SweepStatus.RUNNING)):
        if scopes_overlap(path, other.scope_path):
            raise SweepBusy(other.id, other.scope_path)
    sweep = Sweep(
        scope_site_id=scope.id if scope is not None else None,
        scope_path=path,
        trigger=trigger[:16],
        status=SweepStatus.RUNNING,
        owner=owner[:200],
        started_at=now,
        heartbeat_at=now,
        counts={},
    )
    session.add(sweep)
    session.flush()
    return sweep


def record_progress(
    session: Session,
    sweep_id: int,
    total: int,
    done: int,
    counts: Mapping[str, int],
) -> bool:
    """Store a sweep's progress and heartbeat; return whether cancellation was requested."""
    sweep = session.get(Sweep, sweep_id, with_for_update=False)
    if sweep is None:
        return True
    sweep.total = total
    sweep.done = done
    sweep.counts = dict(counts)
    sweep.heartbeat_at = utcnow()
    return bool(sweep.cancel_requested)


def finish_sweep(
    session: Session,
    sweep_id: int,
    status: SweepStatus,
    error: str | None = None,
) -> None:
    """Close a sweep with its final status."""
    sweep = session.get(Sweep, sweep_id)
    if sweep is None:
        return
    now = utcnow()
    sweep.status = status
    sweep.finished_at = now
    sweep.heartbeat_at = now
    sweep.error = error[:2000] if error else None


def cancel_sweep(sessions: sessionmaker[Session], sweep_id: int) -> bool:
    """Ask a running sweep to stop; return False when no such sweep is running."""
    with transaction(sessions) as session:
        result = session.execute(
            update(Sweep)
            .where(Sweep.id == sweep_id, Sweep.status == SweepStatus.RUNNING)
            .values(cancel_requested=True)
        )
        return bool(getattr(result, "rowcount", 0))
