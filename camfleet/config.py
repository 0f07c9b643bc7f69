"""Typed settings, read from CAMFLEET_* environment variables and an optional .env file."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")
# The value shipped in examples; production refuses it.
INSECURE_DEFAULT_SECRET = "change-me"  # noqa: S105 - the value refused


class Mode(StrEnum):
    """Where camfleet runs: development allows a generated key file; production demands a secret."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ConfigError(ValueError):
    """Settings are missing or invalid for the requested mode."""


Seconds = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    """camfleet's settings; every field is bounded and described."""

    model_config = SettingsConfigDict(
        env_prefix="CAMFLEET_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        validate_default=True,
    )

    mode: Mode = Field(Mode.DEVELOPMENT, description="development or production")
    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        description="Directory for the SQLite file, key file and simulator state",
    )
    database_url: str = Field(
        "",
        max_length=2000,
        description="SQLAlchemy URL; empty means a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key for encrypting camera credentials (Fernet key or any long passphrase)",
    )
    secret_key_file: Path | None = Field(
        None,
        description="File holding the key; created 0600 on first run in development",
    )
    sweep_interval_s: float = Field(
        3600.0,
        ge=60,
        le=86400,
        description="Seconds between automated sweeps of the fleet",
    )
    sweep_jitter_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Random delay added before a scheduled sweep starts",
    )
    scheduler_enabled: bool = Field(True, description="Run hourly sweeps inside `camfleet serve`")
    check_deadline_s: float = Field(
        8.0,
        ge=1,
        le=120,
        description="Hard deadline for one camera check, start to result",
    )
    open_timeout_s: float = Field(
        3.0, ge=0.2, le=60, description="RTSP open timeout (connect, handshake, probe)"
    )
    read_timeout_s: float = Field(2.0, ge=0.2, le=60, description="RTSP read timeout per frame")
    sample_window_s: float = Field(
        1.2,
        ge=0.5,
        le=30,
        description="Seconds of video watched per check (≥ one clock tick)",
    )
    confirm_attempts: int = Field(
        2,
        ge=1,
        le=10,
        description="Checks that must agree before a failure becomes a hard state",
    )
    confirm_delay_s: float = Field(
        2.0,
        ge=0,
        le=300,
        description="Pause before the confirming re-check of a failure",
    )
    flap_window: int = Field(
        10, ge=4, le=100, description="Number of recent checks looked at for flapping"
    )
    flap_changes: int = Field(
        4,
        ge=2,
        le=100,
        description="State changes within the window that flag flapping",
    )
    concurrency: int = Field(64, ge=1, le=1024, description="Camera checks running at once")
    worker_processes: int = Field(
        1,
        ge=1,
        le=64,
        description=(
            "Checker processes a sweep spreads its concurrency over; one runs up to 64 checks"
            " on threads and, measured on 2 cores, was as fast as two and 75 MB lighter"
            " (more open when concurrency exceeds 64 per process)"
        ),
    )
    onvif_timeout_s: float = Field(5.0, ge=0.5, le=60, description="Timeout of one ONVIF call")
    onvif_max_reply_bytes: int = Field(
        2_000_000,
        ge=10_000,
        le=50_000_000,
        description="Largest ONVIF reply read from a device",
    )
    discovery_timeout_s: float = Field(
        3.0, ge=0.5, le=60, description="How long WS-Discovery collects replies"
    )
    max_auth_attempts: int = Field(
        3,
        ge=1,
        le=10,
        description="Credential tries per device (cameras lock accounts out)",
    )
    api_host: str = Field("127.0.0.1", description="Address the web API binds to")
    api_port: int = Field(8000, ge=1, le=65535, description="Port the web API binds to")
    check_rate_per_minute: int = Field(
        30,
        ge=1,
        le=10000,
        description="On-demand checks allowed per API token per minute",
    )
    page_size_max: int = Field(500, ge=10, le=5000, description="Largest page an API list returns")

    @field_validator("api_host")
    @classmethod
    def _valid_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not value or len(value) > 253 or " " in value:
                raise ValueError("api_host must be an IP address or host name") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.mode is Mode.PRODUCTION:
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if self.secret_key_file is None and (not key or key == INSECURE_DEFAULT_SECRET):
                raise ValueError(
                    "production mode needs CAMFLEET_SECRET_KEY (not the example value) "
                    "or CAMFLEET_SECRET_KEY_FILE"
                )
            if key and len(key) < 32:
                raise ValueError("CAMFLEET_SECRET_KEY must be at least 32 characters")
        return self

    @property
    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to a SQLite file in data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'camfleet.db').resolve()}"

    @property
    def effective_key_file(self) -> Path:
        """Return where the credential key lives when no key is given directly."""
        return self.secret_key_file or self.data_dir / "secret.key"


def load_settings(**overrides: object) -> Settings:
    """Return settings from the environment, or raise ConfigError with a readable message."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
