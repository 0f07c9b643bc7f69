"""Shared set-up for sweep, scheduler, reference and CLI tests: a simulated precinct, registered."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from camfleet.config import Settings, load_settings
from camfleet.credentials import add_credential
from camfleet.db import make_engine, session_factory, transaction, upgrade
from camfleet.models import Camera, MediaProfile, Site
from camfleet.vault import Vault
from health.status import Status
from sim.launch import SimProcess, start_sim
from sim.spec import PrecinctSpec, parse_spec

# Unique enough to grep for: it must never show up in output, logs or the database.
PASSWORD = "Qz7-sweep-secret-9041"
USERNAME = "installer"
SECRET_KEY = "sweep-tests-passphrase-that-is-long-enough-1234"


@dataclass(frozen=True)
class Registered:
    """The precinct codes and camera ids of a registered simulated precinct."""

    spec: PrecinctSpec
    camera_ids: dict[str, int]
    """By "SITE/NAME"."""


def spec_dict(
    sites: dict[str, Sequence[tuple[str, str]]], host_base: str, **defaults: object
) -> dict[str, object]:
    """Return a simulator description: sites of (name, feed) cameras, RTSP only."""
    return {
        "defaults": {
            "host_base": host_base,
            "username": USERNAME,
            "password": PASSWORD,
            **defaults,
        },
        "sites": [
            {
                "code": code,
                "name": code,
                "cameras": [{"name": n, "feed": f, "onvif": False} for n, f in cams],
            }
            for code, cams in sites.items()
        ],
    }


def toml_text(data: dict[str, object]) -> str:
    """Return a description dict as TOML (the small subset spec_dict produces)."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(v)

    lines = ["[defaults]"]
    defaults = data["defaults"]
    assert isinstance(defaults, dict)
    lines += [f"{k} = {value(v)}" for k, v in defaults.items()]
    sites = data["sites"]
    assert isinstance(sites, list)
    for site in sites:
        lines += ["", "[[sites]]", f"code = {value(site['code'])}", f"name = {value(site['name'])}"]
        for cam in site["cameras"]:
            lines += ["", "[[sites.cameras]]"]
            lines += [f"{k} = {value(v)}" for k, v in cam.items()]
    return "\n".join(lines) + "\n"


def write_spec(path: Path, data: dict[str, object]) -> PrecinctSpec:
    """Write a description file and return its parsed spec."""
    path.write_text(toml_text(data), encoding="utf-8")
    return parse_spec(data)  # type: ignore[arg-type]


def test_settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    """Return settings for fast sweeps in tests."""
    values: dict[str, object] = {
        "database_url": db_url,
        "data_dir": tmp_path,
        "secret_key": SECRET_KEY,
        "sample_window_s": 1.0,
        "open_timeout_s": 2.0,
        "read_timeout_s": 1.0,
        "check_deadline_s": 6.0,
        "confirm_delay_s": 0.2,
        "concurrency": 16,
        "worker_processes": 2,
    }
    values.update(overrides)
    return load_settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]


def _site(session: Session, code: str, level: str, parent: Site | None) -> Site:
    path = (parent.path if parent else "/") + code + "/"
    site = Site(code=code, name=code, level=level, parent=parent, path=path)
    session.add(site)
    session.flush()
    return site


def register(
    sessions: sessionmaker[Session],
    vault: Vault,
    spec: PrecinctSpec,
    *,
    region: str = "TR",
    password: str = PASSWORD,
) -> Registered:
    """Create region → district → constituency → one precinct per spec site, and its cameras."""
    ids: dict[str, int] = {}
    with transaction(sessions) as session:
        reg = _site(session, region, "region", None)
        dis = _site(session, f"{region}-01", "district", reg)
        con = _site(session, f"{region}-01-1", "constituency", dis)
        cred = add_credential(session, vault, reg, USERNAME, password)
        for code in dict.fromkeys(c.site for c in spec.cameras):
            cams = spec.site(code)
            pre = _site(session, code, "precinct", con)
            pre.expected_cameras = len(cams)
            for cam in cams:
                row = Camera(
                    site_id=pre.id,
                    name=cam.name,
                    source="manual",
                    host=cam.host,
                    credential_id=cred.id,
                    check_profile_token="sub",
                    main_profile_token="main",
                    thresholds={},
                )
                row.profiles = [
                    MediaProfile(
                        token=s.token,
                        encoding="H264",
                        width=s.width,
                        height=s.height,
                        fps=float(s.fps),
                        stream_uri=cam.stream_url(s.token),
                    )
                    for s in cam.streams
                ]
                session.add(row)
                session.flush()
                ids[f"{code}/{cam.name}"] = row.id
    return Registered(spec, ids)


SITES = {
    "P1": [("live", "live"), ("static", "static"), ("black", "black"), ("unauth", "unauthorized")],
    "P2": [("frozen", "frozen"), ("refused", "refused"), ("nf", "not_found"), ("live2", "live")],
}
EXPECTED = {
    "P1/live": Status.OK,
    "P1/static": Status.OK,
    "P1/black": Status.BLACK,
    "P1/unauth": Status.AUTH_FAILED,
    "P2/frozen": Status.FROZEN,
    "P2/refused": Status.UNREACHABLE,
    "P2/nf": Status.NOT_FOUND,
    "P2/live2": Status.OK,
}


@pytest.fixture(scope="module")
def precinct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrecinctSpec]:
    """Run the test precinct's RTSP feeds on 127.0.26.x in a simulator process."""
    work = tmp_path_factory.mktemp("sweep_sim")
    spec = write_spec(work / "precinct.toml", spec_dict(SITES, "127.0.26.1"))
    sim: SimProcess = start_sim([str(work / "precinct.toml")], work)
    try:
        yield spec
    finally:
        sim.stop()


@dataclass
class Env:
    """A registered precinct in a fresh database, with settings and vault."""

    settings: Settings
    sessions: sessionmaker[Session]
    vault: Vault
    reg: Registered


def make_env(tmp_path: Path, url: str, spec: PrecinctSpec, **overrides: object) -> Env:
    settings = test_settings(tmp_path, url, **overrides)
    vault = Vault.from_settings(settings)
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    return Env(settings, sessions, vault, register(sessions, vault, spec))
