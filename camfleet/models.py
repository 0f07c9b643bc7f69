"""SQLAlchemy 2 typed models: site tree, cameras, credentials, checks, states, sweeps, tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from camfleet.timeutil import as_utc, utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Store aware datetimes in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Return stored values as aware UTC datetimes."""
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    """Declarative base of every camfleet table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class SiteLevel(StrEnum):
    """Levels of the election administration tree, top down."""

    REGION = "region"
    DISTRICT = "district"
    CONSTITUENCY = "constituency"
    PRECINCT = "precinct"


LEVEL_ORDER = (
    SiteLevel.REGION,
    SiteLevel.DISTRICT,
    SiteLevel.CONSTITUENCY,
    SiteLevel.PRECINCT,
)


class Site(Base):
    """A node of the tree: region → district → constituency → precinct."""

    __tablename__ = "sites"
    __table_args__ = (
        Index("ix_sites_level_path", "level", "path"),
        Index("ix_sites_parent", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    # Materialised path of codes, "/REG/DIS/CON/PRE/": a subtree is a prefix match.
    path: Mapped[str] = mapped_column(String(400), unique=True)
    address: Mapped[str | None] = mapped_column(String(500))
    expected_cameras: Mapped[int | None] = mapped_column(Integer)
    contact_person: Mapped[str | None] = mapped_column(String(200))
    contact_role: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # The precinct's camera network (CIDR); stream and service addresses must fall inside it
    # (or on the device itself).
    network: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[Site | None] = relationship(remote_side=[id])


class Camera(Base):
    """An ONVIF (or manually added) camera registered to one precinct."""

    __tablename__ = "cameras"
    __table_args__ = (
        UniqueConstraint("site_id", "name", name="uq_cameras_site_name"),
        Index("ix_cameras_site_enabled", "site_id", "enabled"),
        Index("ix_cameras_serial", "manufacturer", "serial"),
        Index("ix_cameras_mac", "mac"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(16), default="onvif")
    endpoint_uuid: Mapped[str | None] = mapped_column(String(100), unique=True)
    manufacturer: Mapped[str | None] = mapped_column(String(120))
    model: Mapped[str | None] = mapped_column(String(120))
    firmware: Mapped[str | None] = mapped_column(String(120))
    serial: Mapped[str | None] = mapped_column(String(120))
    mac: Mapped[str | None] = mapped_column(String(17))
    hardware_id: Mapped[str | None] = mapped_column(String(120))
    host: Mapped[str | None] = mapped_column(String(255))
    onvif_address: Mapped[str | None] = mapped_column(String(500))
    snapshot_uri: Mapped[str | None] = mapped_column(String(1000))
    main_profile_token: Mapped[str | None] = mapped_column(String(100))
    check_profile_token: Mapped[str | None] = mapped_column(String(100))
    clock_skew_s: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    # Per-camera overrides of health thresholds, {name: value}.
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    site: Mapped[Site] = relationship()
    profiles: Mapped[list[MediaProfile]] = relationship(
        back_populates="camera",
        cascade="all, delete-orphan",
        order_by="MediaProfile.id",
    )
    state: Mapped[CameraState | None] = relationship(
        back_populates="camera", cascade="all, delete-orphan", uselist=False
    )


class MediaProfile(Base):
    """One media profile of a camera; the stream URI is stored without credentials."""

    __tablename__ = "media_profiles"
    __table_args__ = (UniqueConstraint("camera_id", "token", name="uq_profiles_camera_token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    encoding: Mapped[str | None] = mapped_column(String(20))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    stream_uri: Mapped[str | None] = mapped_column(String(1000))

    camera: Mapped[Camera] = relationship(back_populates="profiles")


class Credential(Base):
    """A candidate login for the cameras of a site subtree (or global when site is empty).

    The password is Fernet ciphertext; nothing serialises it out.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("site_id", "username", name="uq_credentials_site_user"),
        Index("ix_credentials_site", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(120))
    password_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Credential(id={self.id!r}, site_id={self.site_id!r}, username={self.username!r})"


class CheckResult(Base):
    """History: one health check of one camera."""

    __tablename__ = "check_results"
    __table_args__ = (
        Index("ix_checks_camera_time", "camera_id", "started_at"),
        Index("ix_checks_sweep", "sweep_id"),
        UniqueConstraint("sweep_id", "camera_id", "attempt", name="uq_checks_sweep_camera"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id", ondelete="SET NULL"))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column()
    duration_ms: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    measurements: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CameraState(Base):
    """The current state of one camera, kept for fast readiness queries."""

    __tablename__ = "camera_states"
    __table_args__ = (Index("ix_states_hard_status", "hard_status"),)

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20))  # the last check's status
    hard_status: Mapped[str] = mapped_column(String(20))  # confirmed state
    state_type: Mapped[str] = mapped_column(String(4), default="hard")  # soft | hard
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    measurements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_check_at: Mapped[datetime] = mapped_column()
    last_change_at: Mapped[datetime] = mapped_column()
    last_ok_at: Mapped[datetime | None] = mapped_column()
    recent: Mapped[list[Any]] = mapped_column(default=list)  # recent statuses, newest last
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    last_check_id: Mapped[int | None] = mapped_column(Integer)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary)
    thumbnail_at: Mapped[datetime | None] = mapped_column()

    camera: Mapped[Camera] = relationship(back_populates="state")


class CameraReference(Base):
    """The installer's reference frame of a camera (JPEG plus analysis features)."""

    __tablename__ = "camera_references"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True
    )
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    features: Mapped[bytes] = mapped_column(LargeBinary)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    set_by: Mapped[str | None] = mapped_column(String(120))


class Sweep(Base):
    """A run of checks over a set of cameras, with live progress."""

    __tablename__ = "sweeps"
    __table_args__ = (Index("ix_sweeps_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    scope_path: Mapped[str] = mapped_column(String(400), default="/")
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    status: Mapped[str] = mapped_column(String(16), default="running")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)


class DiscoveryRun(Base):
    """A discovery run at one site and its per-device results."""

    __tablename__ = "discovery_runs"
    __table_args__ = (Index("ix_discovery_site", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    results: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token for the web API, stored as a SHA-256 hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
