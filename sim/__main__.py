"""Command line of the simulated precinct: ``python -m sim up FILE`` and ``list FILE``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from sim import netns
from sim.runner import (
    Simulator,
    describe,
    format_table,
    load_behaviours,
    parse_behaviour_override,
    serve_until_signalled,
)
from sim.spec import SpecError, load_spec
from sim.wsd import APP_MAX_DELAY_S


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in (
        ("up", "start every simulated camera and run until SIGINT/SIGTERM"),
        ("list", "print the cameras a description file declares, without starting them"),
    ):
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.add_argument("file", type=Path, help="precinct description file (TOML)")
        sub.add_argument("--host-base", help="allocate camera hosts from this IPv4 address")
        sub.add_argument("--json", action="store_true", help="print the cameras as JSON")
        sub.add_argument(
            "--no-secrets", action="store_true", help="leave the cameras' passwords out"
        )
        sub.add_argument(
            "--behaviour",
            action="append",
            default=[],
            metavar="SITE/NAME=KIND",
            help="give one camera a hostile ONVIF behaviour (repeatable)",
        )
    up = commands.choices["up"]
    up.add_argument("--netns", help="run inside this network namespace, with multicast")
    up.add_argument("--ready-file", type=Path, help="write a JSON file here once listening")
    up.add_argument("--no-rtsp", action="store_true", help="serve ONVIF and discovery only")
    up.add_argument(
        "--wsd-max-delay",
        type=float,
        default=APP_MAX_DELAY_S,
        metavar="SECONDS",
        help="upper bound of the random delay before answering a multicast probe",
    )
    up.add_argument(
        "--auth-window",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how far a UsernameToken's Created may be from the camera's clock (default 300)",
    )
    return parser


def _reexec_in_netns(namespace: str) -> None:
    """Replace this process with the same command run inside the namespace (same pid)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    argv = netns.exec_argv(namespace, [sys.executable, "-m", "sim", *sys.argv[1:]])
    sys.stdout.flush()
    os.execvpe(argv[0], argv, env)  # noqa: S606 - fixed argv of this same command, no shell


def _print(entries: list[dict[str, Any]], *, as_json: bool, heading: str) -> None:
    if as_json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        print(heading)
        print(format_table(entries))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "up" and args.netns and not netns.inside_netns(args.netns):
        if not netns.netns_exists(args.netns):
            print(f"sim: network namespace {args.netns!r} does not exist", file=sys.stderr)
            return 2
        _reexec_in_netns(args.netns)
    try:
        spec = load_spec(args.file, host_base=args.host_base)
        behaviours = load_behaviours(args.file)
        behaviours.update(parse_behaviour_override(text) for text in args.behaviour)
        secrets = not args.no_secrets
        if args.command == "list":
            entries = describe(spec, behaviours, secrets=secrets)
            _print(entries, as_json=args.json, heading=f"{len(entries)} cameras in {args.file}")
            return 0
        multicast = bool(args.netns)
        sim = Simulator(
            spec,
            behaviours=behaviours,
            multicast=multicast,
            rtsp=not args.no_rtsp,
            wsd_max_delay_s=args.wsd_max_delay,
            auth_window_s=args.auth_window,
        )
    except SpecError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    entries = describe(spec, behaviours, secrets=secrets)
    where = f"multicast in netns {args.netns}" if multicast else "unicast only"
    heading = f"{len(entries)} cameras up from {args.file} (WS-Discovery {where}); Ctrl-C stops"
    payload = {
        "pid": os.getpid(),
        "file": str(args.file),
        "netns": args.netns,
        "multicast": multicast,
        "rtsp": not args.no_rtsp,
        "cameras": describe(spec, behaviours, secrets=False),
    }

    def announce() -> None:
        _print(entries, as_json=args.json, heading=heading)

    try:
        asyncio.run(
            serve_until_signalled(
                sim, ready_file=args.ready_file, ready_payload=payload, on_ready=announce
            )
        )
    except OSError as exc:
        print(f"sim: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
