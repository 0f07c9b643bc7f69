"""What every request shares: settings, database, vault, caches and limits."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.metrics import make_registry
from api.ratelimit import RateLimiter
from api.readiness_cache import SnapshotCache
from camfleet.config import Settings
from camfleet.db import transaction
from camfleet.readiness_query import ReadinessSnapshot, data_version, load_snapshot
from camfleet.timeutil import utcnow
from camfleet.tokens import Principal, authenticate
from camfleet.vault import Vault

# How long a validated token is trusted without asking the database again; for a further
# PRINCIPAL_GRACE_S it is still accepted while one background check runs, so a revoked token
# stops working within about TTL + grace.
PRINCIPAL_TTL_S = 5.0
PRINCIPAL_GRACE_S = 5.0
READINESS_TTL_S = 5.0


@dataclass
class PrincipalCache:
    """Principals of recently validated tokens, keyed by the token's hash."""

    ttl_s: float = PRINCIPAL_TTL_S
    grace_s: float = PRINCIPAL_GRACE_S
    # Token checks in progress, by token hash (requests share the server's event loop).
    inflight: dict[str, asyncio.Future[Principal | None]] = field(default_factory=dict)
    _entries: dict[str, tuple[Principal, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def key(token: str) -> str:
        """Return the cache key of a token (its hash: the plain token is not kept)."""
        return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()

    def lookup(self, key: str) -> Principal | None:
        """Return a cached principal validated within the TTL."""
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[1] > self.ttl_s:
            return None
        return hit[0]

    def stale(self, key: str) -> Principal | None:
        """Return a cached principal past its TTL but within the grace period."""
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[1] > self.ttl_s + self.grace_s:
            return None
        return hit[0]

    def store(self, key: str, principal: Principal | None) -> None:
        """Remember a validated principal, or forget a token found invalid."""
        with self._lock:
            if principal is None:
                self._entries.pop(key, None)
                return
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (principal, time.monotonic())


@dataclass
class ApiContext:
    """Resources shared by every request of one application."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    def __post_init__(self) -> None:
        self.principals = PrincipalCache()
        self.limiter = RateLimiter(self.settings.check_rate_per_minute)
        self.readiness = SnapshotCache(
            self._build_snapshot, READINESS_TTL_S, probe=self._data_version
        )
        self.metrics = make_registry(self.sessions)

    @cached_property
    def vault(self) -> Vault:
        """Return the credential vault (opened on first use)."""
        return Vault.from_settings(self.settings)

    def _build_snapshot(self) -> ReadinessSnapshot:
        with self.sessions() as session:
            return load_snapshot(session, utcnow(), self.settings.sweep_interval_s)

    def _data_version(self) -> object:
        with self.sessions() as session:
            return data_version(session)

    def authenticate(self, token: str) -> Principal | None:
        """Check a token against the database (and note its use)."""
        with transaction(self.sessions) as session:
            return authenticate(session, token)
