"""Health commands: check a camera now, verify a precinct, sweep the fleet, set references."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from camfleet.cli.errors import CliError
from camfleet.cli.runtime import console, err_console, runtime
from camfleet.models import Camera, CameraState, Site
from camfleet.readiness import CameraView, PrecinctReadiness, precinct_readiness
from camfleet.sites import get_site
from camfleet.status import Readiness
from camfleet.status import Status as CoreStatus
from camfleet.timeutil import utcnow

if TYPE_CHECKING:
    from health.check import CheckOutcome

# Exit codes a script can rely on (1 stays the generic "could not do it").
EXIT_CRITICAL = 2
EXIT_NOT_READY = 2

reference_app = typer.Typer(help="Reference frames that blur and view checks compare to.")


def _outcome_json(outcome: CheckOutcome, label: str) -> dict[str, Any]:
    """Return a check outcome for --json output (no thumbnail)."""
    data = outcome.to_dict()
    data.pop("thumbnail", None)
    return {"camera": label, **data}


def _reasons_text(outcome: CheckOutcome) -> str:
    return escape("; ".join(r.message for r in outcome.reasons) or "-")


def _labels(camera_ids: Sequence[int]) -> dict[int, str]:
    with runtime().sessions() as session:
        rows = session.execute(
            select(Camera.id, Site.code, Camera.name)
            .join(Site, Camera.site_id == Site.id)
            .where(Camera.id.in_(list(camera_ids)))
        )
        return {cid: f"{code}/{name}" for cid, code, name in rows}


def check(
    camera: Annotated[str, typer.Argument(help="Camera id or SITE/NAME")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Re-check a failure once to make it the hard state")
    ] = False,
) -> None:
    """Check one camera now: status, reasons and measurements (exit 2 when critical)."""
    from health.reference import CameraNotFound, find_camera
    from health.status import Severity
    from health.sweep import check_cameras_now

    rt = runtime()
    with rt.sessions() as session:
        try:
            camera_id = find_camera(session, camera).id
        except CameraNotFound as exc:
            raise CliError(str(exc)) from None
    (outcome,) = check_cameras_now(rt.settings, rt.sessions, rt.vault, [camera_id], confirm=confirm)
    label = _labels([camera_id]).get(camera_id, str(camera_id))
    if as_json:
        sys.stdout.write(json.dumps(_outcome_json(outcome, label), ensure_ascii=False) + "\n")
    else:
        # Camera names and reasons carry device text: shown as it is, never as markup.
        console.print(
            f"[bold]{escape(label)}[/]: {outcome.status.value} ({outcome.severity.value})"
        )
        for reason in outcome.reasons:
            console.print(f"  {reason.code}: {escape(reason.message)}")
        figures = ", ".join(f"{k}={v}" for k, v in sorted(outcome.measurements.items()))
        if figures:
            console.print(f"  measurements: {escape(figures)}")
    if outcome.severity is Severity.CRITICAL:
        raise typer.Exit(EXIT_CRITICAL)


def _verdict(
    cameras: Sequence[Camera],
    states: dict[int, CameraState],
    outcomes: dict[int, CheckOutcome],
    expected: int,
    interval_s: float,
) -> PrecinctReadiness:
    """Return the precinct's readiness from the checks just made (stored state for the rest)."""
    now = utcnow()
    views = []
    for cam in cameras:
        outcome = outcomes.get(cam.id)
        state = states.get(cam.id)
        if outcome is not None:
            status: CoreStatus | None = CoreStatus(outcome.status.value)
            checked_at = outcome.started_at
        elif state is not None:
            status, checked_at = CoreStatus(state.hard_status), state.last_check_at
        else:
            status, checked_at = None, None
        views.append(CameraView(cam.id, cam.name, cam.enabled, status, checked_at))
    return precinct_readiness(views, expected, now, interval_s)


def verify(
    site: Annotated[str, typer.Option("--site", help="Precinct code")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Check every camera of a precinct now and say whether it is ready (exit 2 when not)."""
    from health.sweep import check_cameras_now

    rt = runtime()
    with rt.sessions() as session:
        precinct = get_site(session, site)
        if precinct.level != "precinct":
            raise CliError(f"{site} is a {precinct.level}; verify takes a precinct code")
        cameras = list(
            session.scalars(
                select(Camera).where(Camera.site_id == precinct.id).order_by(Camera.name)
            )
        )
        states = {
            s.camera_id: s
            for s in session.scalars(
                select(CameraState).where(CameraState.camera_id.in_([c.id for c in cameras]))
            )
        }
        expected = precinct.expected_cameras if precinct.expected_cameras is not None else 0
        code, name = precinct.code, precinct.name
    enabled = [c.id for c in cameras if c.enabled]
    outcomes = {
        o.camera_id: o for o in check_cameras_now(rt.settings, rt.sessions, rt.vault, enabled)
    }
    verdict = _verdict(cameras, states, outcomes, expected, rt.settings.sweep_interval_s)
    if as_json:
        data = {
            "site": code,
            "name": name,
            "verdict": verdict.state.value,
            "ready": verdict.state in (Readiness.READY, Readiness.DEGRADED),
            "cameras_expected": verdict.cameras_expected,
            "cameras_registered": verdict.cameras_registered,
            "cameras_ok": verdict.cameras_ok,
            "reasons": [
                {"code": r.code, "message": r.message, "camera_id": r.camera_id}
                for r in verdict.reasons
            ],
            "cameras": [
                _outcome_json(outcomes[c.id], f"{code}/{c.name}")
                if c.id in outcomes
                else {"camera": f"{code}/{c.name}", "camera_id": c.id, "status": "disabled"}
                for c in cameras
            ],
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        table = Table("camera", "status", "reasons", title=escape(f"{code} {name}"))
        for cam in cameras:
            outcome = outcomes.get(cam.id)
            if outcome is None:
                table.add_row(escape(cam.name), "disabled", "-")
            else:
                table.add_row(escape(cam.name), outcome.status.value, _reasons_text(outcome))
        console.print(table)
        label = verdict.state.value.replace("_", " ").upper()
        console.print(f"precinct {code}: [bold]{label}[/]")
        for reason in verdict.reasons:
            console.print(f"  - {escape(reason.message)}")
    if verdict.state not in (Readiness.READY, Readiness.DEGRADED):
        raise typer.Exit(EXIT_NOT_READY)


def sweep(
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site's subtree (default: all)")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, max=1024, help="Checks at once")
    ] = None,
) -> None:
    """Check every enabled camera (of a site subtree), with confirmation, and store results."""
    from health.sweep import run_sweep
    from health.sweep_record import SweepBusy, SweepStatus

    rt = runtime()
    with rt.sessions() as session:
        if site is not None:
            get_site(session, site)  # a readable error before anything starts
    progress = Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=err_console,
    )
    with progress:
        task = progress.add_task("sweep", total=None, counts="")

        def report(done: int, total: int, counts: dict[str, int] | Any) -> None:
            text = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
            progress.update(task, completed=done, total=total, counts=text)

        try:
            summary = run_sweep(
                rt.settings,
                rt.sessions,
                rt.vault,
                site,
                "cli",
                concurrency=concurrency,
                on_progress=report,
            )
        except SweepBusy as exc:
            raise CliError(str(exc)) from None
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts.items())) or "no cameras"
    console.print(
        f"sweep {summary.sweep_id} {summary.status.value}: {summary.done}/{summary.total} "
        f"cameras, {summary.checks} checks in {summary.elapsed_s:.1f} s ({counts})"
    )
    if summary.status is not SweepStatus.COMPLETED:
        raise CliError(f"sweep {summary.status.value}: {summary.error or 'see the log'}")


@reference_app.command("set")
def reference_set(
    camera: Annotated[str, typer.Argument(help="Camera id or SITE/NAME")],
    by: Annotated[str | None, typer.Option("--by", help="Who approved the view")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Keep the picture even if it looks black or covered")
    ] = False,
) -> None:
    """Save the camera's current picture as its reference view."""
    from health.reference import CameraNotFound, ReferenceFrameError, find_camera, set_reference

    rt = runtime()
    try:
        with rt.sessions() as session:
            camera_id = find_camera(session, camera).id
        saved = set_reference(rt.settings, rt.sessions, rt.vault, camera_id, by, force=force)
    except (CameraNotFound, ReferenceFrameError) as exc:
        raise CliError(str(exc)) from None
    console.print(
        f"reference of {escape(saved.label)} saved: {saved.width}x{saved.height}, "
        f"sharpness {saved.sharpness:.2f}"
    )


@reference_app.command("clear")
def reference_clear(
    camera: Annotated[str, typer.Argument(help="Camera id or SITE/NAME")],
) -> None:
    """Remove the camera's reference view (blur falls back to its absolute floor)."""
    from health.reference import CameraNotFound, clear_reference, find_camera

    rt = runtime()
    try:
        with rt.sessions() as session:
            found = find_camera(session, camera)
            camera_id, label = found.id, f"{found.site.code}/{found.name}"
    except CameraNotFound as exc:
        raise CliError(str(exc)) from None
    had = clear_reference(rt.sessions, camera_id)
    console.print(f"reference of {escape(label)} {'removed' if had else 'was not set'}")


def register(app: typer.Typer) -> None:
    """Add the health commands."""
    app.command("check")(check)
    app.command("verify")(verify)
    app.command("sweep")(sweep)
    app.add_typer(reference_app, name="reference")
