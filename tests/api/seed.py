"""Build small, exact fleets for API tests: two districts, precincts in every readiness state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from camfleet.db import transaction
from camfleet.models import Camera, CameraReference, CameraState, CheckResult, MediaProfile
from camfleet.register import import_register
from camfleet.sites import get_site
from camfleet.status import Status, severity
from camfleet.timeutil import utcnow
from camfleet.tokens import Role, create_token

HEADER = (
    "region_code,region_name,district_code,district_name,constituency_code,constituency_name,"
    "precinct_code,precinct_name,address,expected_cameras\n"
)
# Two districts; site A (TST-01) and site B (TST-02) for scope tests.
PRECINCTS = {
    # code: (district, expected cameras, [(camera name, hard status or None, age in minutes)])
    "TST-01-0001": ("TST-01", 2, [("door", Status.OK, 5), ("hall", Status.OK, 10)]),
    "TST-01-0002": ("TST-01", 2, [("door", Status.OK, 5), ("hall", Status.BLURRED, 5)]),
    "TST-01-0003": ("TST-01", 2, [("door", Status.FROZEN, 20), ("hall", Status.OK, 5)]),
    "TST-01-0004": ("TST-01", 1, [("door", Status.OK, 60 * 24)]),
    "TST-01-0005": ("TST-01", 2, [("door", Status.OK, 5)]),
    "TST-02-0001": ("TST-02", 1, [("door", Status.UNREACHABLE, 50)]),
    "TST-02-0002": ("TST-02", 1, [("door", None, 0)]),
}
EXPECTED_STATE = {
    "TST-01-0001": "ready",
    "TST-01-0002": "degraded",
    "TST-01-0003": "not_ready",
    "TST-01-0004": "unknown",
    "TST-01-0005": "not_ready",
    "TST-02-0001": "not_ready",
    "TST-02-0002": "unknown",
}
# A small grey JPEG (32x18), as OpenCV encodes one.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a18161618"
    "3123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffdb00"
    "43011112121815182f1a1a2f63423842636363636363636363636363636363636363636363636363636363636363"
    "6363636363636363636363636363636363636363ffc00011080012002003012200021101031101ffc4001f000001"
    "0501010101010100000000000000000102030405060708090a0bffc400b510000201030302040305050404000001"
    "7d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25"
    "262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a8384"
    "85868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5"
    "d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000"
    "000102030405060708090a0bffc400b5110002010204040304070504040001027700010203110405213106124151"
    "0761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a43"
    "4445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a929394959697"
    "98999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8"
    "e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00e928a28a0028a28a0028a28a0028a28a00ffd9"
)


@dataclass
class Fleet:
    """What the seed created: tokens per role and camera ids per precinct."""

    tokens: dict[str, str] = field(default_factory=dict)
    cameras: dict[str, dict[str, int]] = field(default_factory=dict)

    def camera(self, precinct: str, name: str = "door") -> int:
        """Return a camera's id."""
        return self.cameras[precinct][name]

    def auth(self, who: str) -> dict[str, str]:
        """Return the Authorization header of a token."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def register_csv(precincts: dict[str, tuple[str, int, list[object]]]) -> bytes:
    """Return a register CSV for the precincts (one constituency per district)."""
    lines = [HEADER]
    for code, (district, expected, _) in precincts.items():
        lines.append(
            f"TST,Test viloyati,{district},{district} tumani,{district}-K1,{district} okrugi,"
            f"{code},{code} uchastkasi,,{expected}\n"
        )
    return "".join(lines).encode()


def add_camera(
    session: Session,
    site_code: str,
    name: str,
    status: Status | None,
    at: datetime | None,
    index: int,
) -> Camera:
    """Add a camera with a profile and, when status is given, a current state and a check."""
    site = get_site(session, site_code)
    camera = Camera(
        site_id=site.id,
        name=name,
        endpoint_uuid=f"urn:uuid:{site_code}-{name}-{index}",
        manufacturer="Sim",
        model="SIM-1",
        host=f"127.0.31.{index % 250 + 1}",
        main_profile_token="main",
        check_profile_token="sub",
    )
    camera.profiles = [
        MediaProfile(
            token="sub",
            encoding="H264",
            width=640,
            height=360,
            fps=10.0,
            stream_uri=f"rtsp://127.0.31.{index % 250 + 1}:8554/{name}/sub",
        ),
    ]
    session.add(camera)
    session.flush()
    if status is not None and at is not None:
        reasons = [] if status is Status.OK else [{"code": status.value, "message": str(status)}]
        check = CheckResult(
            camera_id=camera.id,
            started_at=at,
            duration_ms=1400,
            status=status.value,
            severity=severity(status).value,
            reasons=reasons,
            measurements={"fps": 10.0},
        )
        session.add(check)
        session.flush()
        session.add(
            CameraState(
                camera_id=camera.id,
                status=status.value,
                hard_status=status.value,
                state_type="hard",
                reasons=reasons,
                measurements={"fps": 10.0},
                last_check_at=at,
                last_change_at=at,
                last_ok_at=at if status is Status.OK else None,
                recent=[status.value],
                last_check_id=check.id,
                thumbnail=TINY_JPEG,
                thumbnail_at=at,
            )
        )
        session.add(CameraReference(camera_id=camera.id, jpeg=TINY_JPEG, features=b"", set_at=at))
    return camera


def seed(sessions: sessionmaker[Session], now: datetime | None = None) -> Fleet:
    """Create the test fleet and one token per role (installers for site A and site B)."""
    now = now or utcnow()
    fleet = Fleet()
    with transaction(sessions) as session:
        import_register(session, register_csv(PRECINCTS))  # type: ignore[arg-type]
        index = 0
        for code, (_, _, cams) in PRECINCTS.items():
            for name, status, age_min in cams:  # type: ignore[misc]
                index += 1
                at = now - timedelta(minutes=age_min) if status is not None else None
                camera = add_camera(session, code, name, status, at, index)
                fleet.cameras.setdefault(code, {})[name] = camera.id
        for who, role, site in (
            ("admin", Role.ADMIN, None),
            ("monitor", Role.MONITOR, None),
            ("installer_a", Role.INSTALLER, "TST-01-0003"),
            ("installer_b", Role.INSTALLER, "TST-02-0001"),
            ("installer_district", Role.INSTALLER, "TST-01"),
        ):
            scope = get_site(session, site) if site else None
            _, plain = create_token(session, who, role, scope)
            fleet.tokens[who] = plain
    return fleet
