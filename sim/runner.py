"""Run a simulated precinct: RTSP feeds, ONVIF devices and WS-Discovery in one event loop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.onvif import BEHAVIOURS, OnvifDevice
from sim.onvif.wsse import AuthPolicy
from sim.spec import CameraSpec, PrecinctSpec, SpecError
from sim.wsd import APP_MAX_DELAY_S, WsdResponder

if TYPE_CHECKING:
    from sim.rtsp.server import RtspServer

CameraKey = tuple[str, str]
PRECINCTS_DIR = Path(__file__).resolve().parent / "precincts"


def precinct_file(name: str) -> Path:
    """Return the path of one of the shipped precinct description files, e.g. "all_faults"."""
    return PRECINCTS_DIR / f"{name}.toml"


def load_behaviours(path: Path) -> dict[CameraKey, str]:
    """Read the optional per-camera ``behaviour`` keys of a precinct description file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from exc
    found: dict[CameraKey, str] = {}
    for site in data.get("sites", []):
        for cam in site.get("cameras", []):
            value = cam.get("behaviour")
            if value is None:
                continue
            key = (str(site.get("code", "")), str(cam.get("name", "")))
            found[key] = _checked_behaviour(f"{key[0]}/{key[1]}", value)
    return found


def _checked_behaviour(where: str, value: object) -> str:
    if not isinstance(value, str) or value not in BEHAVIOURS:
        known = ", ".join(sorted(BEHAVIOURS))
        raise SpecError(f"{where}: unknown behaviour {value!r}; known: {known}")
    return value


def parse_behaviour_override(text: str) -> tuple[CameraKey, str]:
    """Parse ``SITE/NAME=BEHAVIOUR`` as given on the command line."""
    target, sep, value = text.partition("=")
    site, slash, name = target.partition("/")
    if not sep or not slash or not site or not name:
        raise SpecError(f"behaviour override {text!r} is not SITE/NAME=BEHAVIOUR")
    return (site, name), _checked_behaviour(target, value)


def describe_camera(camera: CameraSpec, behaviour: str | None, *, secrets: bool) -> dict[str, Any]:
    """Return what an operator needs to reach one simulated camera."""
    entry: dict[str, Any] = {
        "site": camera.site,
        "name": camera.name,
        "feed": camera.feed,
        "host": camera.host,
        "onvif": camera.onvif,
        "xaddr": camera.xaddr if camera.onvif else None,
        "rtsp": {s.token: camera.stream_url(s.token) for s in camera.streams},
        "endpoint_uuid": camera.endpoint_uuid,
        "clock_skew_s": camera.clock_skew_s,
        "behaviour": behaviour,
        "username": camera.username,
    }
    if secrets:
        # The simulator talking to its own operator: the only place a password is printed.
        entry["password"] = camera.password
    return entry


def describe(
    spec: PrecinctSpec, behaviours: Mapping[CameraKey, str], *, secrets: bool
) -> list[dict[str, Any]]:
    """Return the description of every camera of a precinct spec."""
    return [
        describe_camera(c, behaviours.get((c.site, c.name)), secrets=secrets) for c in spec.cameras
    ]


def format_table(entries: Sequence[Mapping[str, Any]]) -> str:
    """Return a plain-text listing of described cameras, one block per camera."""
    lines: list[str] = []
    for e in entries:
        extra = f"  behaviour={e['behaviour']}" if e["behaviour"] else ""
        skew = f"  clock_skew_s={e['clock_skew_s']:g}" if e["clock_skew_s"] else ""
        lines.append(f"{e['site']}/{e['name']}  feed={e['feed']}{skew}{extra}")
        lines.append(f"    onvif  {e['xaddr'] or '(no ONVIF service)'}")
        for token, url in e["rtsp"].items():
            lines.append(f"    rtsp   {token:<5} {url}")
        creds = f"    user   {e['username']}"
        if "password" in e:
            creds += f"  password {e['password']}"
        lines.append(creds)
    return "\n".join(lines)


class Simulator:
    """Every service of a simulated precinct, started and stopped together."""

    def __init__(
        self,
        spec: PrecinctSpec,
        *,
        behaviours: Mapping[CameraKey, str] | None = None,
        multicast: bool = False,
        rtsp: bool = True,
        wsd_max_delay_s: float = APP_MAX_DELAY_S,
        auth_window_s: float = 300.0,
    ) -> None:
        self.spec = spec
        self.behaviours = dict(behaviours or {})
        known = {(c.site, c.name) for c in spec.cameras}
        unknown = sorted(f"{s}/{n}" for s, n in self.behaviours if (s, n) not in known)
        if unknown:
            raise SpecError(f"behaviour given for unknown cameras: {', '.join(unknown)}")
        policy = AuthPolicy(window=timedelta(seconds=auth_window_s))
        self.devices = [
            OnvifDevice(c, behaviour=self.behaviours.get((c.site, c.name)), policy=policy)
            for c in spec.cameras
            if c.onvif
        ]
        self.wsd = WsdResponder(spec.cameras, multicast=multicast, max_delay_s=wsd_max_delay_s)
        self._with_rtsp = rtsp
        self.rtsp: RtspServer | None = None
        self._started: list[OnvifDevice] = []

    async def start(self) -> None:
        """Start RTSP, then every ONVIF device, then WS-Discovery (whose Hello says all is up)."""
        try:
            if self._with_rtsp:
                # Imported here so listing and ONVIF-only runs do not load the video stack.
                from sim.rtsp.server import RtspServer

                self.rtsp = RtspServer(self.spec.cameras)
                await self.rtsp.start()
            for device in self.devices:
                await device.start()
                self._started.append(device)
            await self.wsd.start()
        except BaseException:
            await self.stop(announce=False)
            raise

    async def stop(self, *, announce: bool = True) -> None:
        """Say Bye, then stop every service; safe after a partial start."""
        await self.wsd.stop(announce=announce)
        for device in self._started:
            await device.stop()
        self._started.clear()
        if self.rtsp is not None:
            await self.rtsp.stop()
            self.rtsp = None


def write_ready_file(path: Path, payload: Mapping[str, Any]) -> None:
    """Write the ready file atomically so a watcher never reads half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def remove_ready_file(path: Path) -> None:
    """Remove the ready file so nobody mistakes a stopped simulator for a running one."""
    path.unlink(missing_ok=True)


async def serve_until_signalled(
    sim: Simulator,
    *,
    ready_file: Path | None,
    ready_payload: Mapping[str, Any],
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Start the simulator, announce readiness, and stop cleanly on SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await sim.start()
        try:
            if on_ready is not None:
                on_ready()
            if ready_file is not None:
                write_ready_file(ready_file, ready_payload)
            await stop.wait()
        finally:
            await sim.stop()
            if ready_file is not None:
                remove_ready_file(ready_file)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
