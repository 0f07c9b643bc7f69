"""Request and response models: input models take secrets in; Public models never carry them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from camfleet.status import Readiness, Status

T = TypeVar("T")

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Strict(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int = Field(description="Items matching the query, over all pages")
    page: int = Field(description="This page's number, from 1")
    page_size: int = Field(description="Items per page (bounded by the server's maximum)")


# --- sites -------------------------------------------------------------------------------------


class SitePublic(BaseModel):
    """A node of the site tree."""

    code: str
    name: str
    level: str = Field(description="region, district, constituency or precinct")
    parent_code: str | None
    path: str = Field(description="Codes from the root, '/REG/DIS/CON/PRE/'")
    address: str | None = None
    expected_cameras: int | None = None
    contact_person: str | None = None
    contact_role: str | None = None
    contact_phone: str | None = None
    network: str | None = None


class SiteNode(BaseModel):
    """A site with its children, for the tree view."""

    code: str
    name: str
    level: str
    expected_cameras: int | None = None
    children: list[SiteNode] = Field(default_factory=list)


class ImportResult(BaseModel):
    """What a register import did, per level."""

    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]


# --- cameras -----------------------------------------------------------------------------------


class ProfilePublic(BaseModel):
    """A media profile; the stream URI never holds credentials."""

    token: str
    name: str | None
    encoding: str | None
    width: int | None
    height: int | None
    fps: float | None
    stream_uri: str | None


class CameraStatePublic(BaseModel):
    """A camera's current state."""

    status: str = Field(description="The last check's status")
    hard_status: str = Field(description="The confirmed status that readiness uses")
    state_type: str = Field(description="soft (awaiting confirmation) or hard")
    attempt: int
    reasons: list[Any]
    measurements: dict[str, Any]
    last_check_at: datetime
    last_change_at: datetime
    last_ok_at: datetime | None
    flapping: bool
    stale: bool = Field(description="The last check is older than twice the sweep interval")
    thumbnail_at: datetime | None


class CameraPublic(BaseModel):
    """A registered camera. The password is write-only and is never part of this model."""

    id: int
    site_code: str
    name: str
    source: str
    endpoint_uuid: str | None
    manufacturer: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    mac: str | None
    hardware_id: str | None
    host: str | None
    onvif_address: str | None
    snapshot_uri: str | None
    main_profile_token: str | None
    check_profile_token: str | None
    clock_skew_s: float | None
    enabled: bool
    credential_username: str | None = Field(description="Login name in use; never the password")
    thresholds: dict[str, Any]
    registered_at: datetime
    last_seen_at: datetime | None
    has_reference: bool
    profiles: list[ProfilePublic]
    state: CameraStatePublic | None


class CameraUpdate(Strict):
    """Fields of a camera that may be changed."""

    enabled: bool | None = Field(None, description="Disabled cameras are not checked")


class CameraMove(Strict):
    """Move a camera to another precinct."""

    site_code: str = Field(pattern=CODE_PATTERN, description="The target precinct's code")


class CameraCredentialSet(Strict):
    """Set the login a camera is checked with; the password can be set, never read back."""

    username: str = Field(min_length=1, max_length=120, pattern=r"^[^:\r\n\t]+$")
    password: SecretStr = Field(min_length=1, max_length=500, json_schema_extra={"writeOnly": True})


class CheckPublic(BaseModel):
    """One recorded check of one camera."""

    id: int
    camera_id: int
    sweep_id: int | None
    attempt: int
    started_at: datetime
    duration_ms: int
    status: str
    severity: str
    reasons: list[Any]
    measurements: dict[str, Any]


# --- readiness ---------------------------------------------------------------------------------


class ReasonPublic(BaseModel):
    """Why a precinct is not ready or degraded."""

    code: str
    message: str
    camera_id: int | None = None


class StateCounts(BaseModel):
    """Precincts in each readiness state."""

    ready: int
    degraded: int
    not_ready: int
    unknown: int


class StatePercentages(BaseModel):
    """Share of precincts in each readiness state, in percent."""

    ready: float
    degraded: float
    not_ready: float
    unknown: float


class SiteRollupPublic(BaseModel):
    """Readiness of the precincts under one site."""

    code: str
    name: str
    level: str
    path: str
    total: int
    counts: StateCounts
    percentages: StatePercentages


class PrecinctSummary(BaseModel):
    """A precinct's readiness and the reasons behind it."""

    code: str
    name: str
    path: str
    state: Readiness
    reasons: list[ReasonPublic]
    cameras_expected: int
    cameras_registered: int
    cameras_ok: int
    worst_status: Status | None
    oldest_check_at: datetime | None


class SiteReadiness(BaseModel):
    """A site's rollup and its not-ready precincts, worst and oldest first."""

    computed_at: datetime
    site: SiteRollupPublic
    not_ready: Page[PrecinctSummary]


class CameraReadiness(BaseModel):
    """One camera of a precinct with its current state, for the installer."""

    id: int
    name: str
    enabled: bool
    status: str | None
    hard_status: str | None
    state_type: str | None
    last_check_at: datetime | None
    stale: bool
    flapping: bool
    reasons: list[Any]
    measurements: dict[str, Any]
    thumbnail_url: str | None


class PrecinctDetail(PrecinctSummary):
    """A precinct's readiness with every camera, read fresh from the database."""

    computed_at: datetime
    cameras: list[CameraReadiness]


# --- checks, sweeps, discovery -----------------------------------------------------------------


class CheckRun(BaseModel):
    """The outcome of an on-demand check of one camera or a whole precinct."""

    checks: list[CheckPublic]
    cameras: list[CameraReadiness]
    readiness: PrecinctSummary | None = Field(
        description="The precinct's readiness after the check"
    )


class SweepStart(Strict):
    """Start a sweep over the whole tree (admin) or one subtree."""

    site_code: str | None = Field(None, pattern=CODE_PATTERN, description="Subtree to sweep")


class SweepPublic(BaseModel):
    """A sweep and its progress."""

    id: int
    scope_site_code: str | None
    scope_path: str
    trigger: str
    status: str
    total: int
    done: int
    progress: float = Field(description="done / total, 0..1")
    counts: dict[str, Any]
    cancel_requested: bool
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    error: str | None


class DiscoveryRunPublic(BaseModel):
    """A discovery run at one site and what it found so far."""

    id: int
    site_code: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    results: list[Any]
    error: str | None


class PrincipalPublic(BaseModel):
    """Who the caller is."""

    name: str
    role: str
    scope_path: str
    scope_site_code: str | None


class HealthStatus(BaseModel):
    """A health endpoint's answer."""

    status: str


class ReferenceSet(Strict):
    """Save the camera's current picture as the reference its view is compared to."""

    force: bool = Field(
        False, description="Keep the picture even when a check would call it critical"
    )


class ReferencePublic(BaseModel):
    """A camera's saved reference frame."""

    camera_id: int
    width: int
    height: int
    sharpness: float
    jpeg_bytes: int
    set_at: datetime
    set_by: str | None
