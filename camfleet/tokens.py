"""API bearer tokens: created once, shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from camfleet.models import ApiToken, Site
from camfleet.timeutil import utcnow

TOKEN_PREFIX = "cf_"  # noqa: S105 - a public prefix, not a secret


class Role(StrEnum):
    """What a token may do: admin everything; monitor read all; installer act in its subtree."""

    ADMIN = "admin"
    MONITOR = "monitor"
    INSTALLER = "installer"


class TokenError(ValueError):
    """A token cannot be created as asked."""


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token: role and, for installers, the subtree path."""

    token_id: int
    name: str
    role: Role
    scope_path: str  # "/" for the whole tree

    def can_see(self, path: str) -> bool:
        """Return whether a site path lies inside this principal's scope."""
        return path.startswith(self.scope_path)


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, name: str, role: Role, site: Site | None = None
) -> tuple[ApiToken, str]:
    """Create a token row and return it with the plain token, which is never stored."""
    if role is Role.INSTALLER and site is None:
        raise TokenError("an installer token needs --site")
    if not name or len(name) > 120:
        raise TokenError("a token name is 1-120 characters")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        token_hash=hash_token(plain),
        prefix=plain[:10],
        role=role.value,
        site_id=site.id if site else None,
    )
    session.add(row)
    session.flush()
    return row, plain


def authenticate(session: Session, token: str) -> Principal | None:
    """Return the principal for a presented token, or None when it is unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    scope = "/"
    if row.site_id is not None:
        site = session.get(Site, row.site_id)
        if site is None:
            return None
        scope = site.path
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now
    return Principal(token_id=row.id, name=row.name, role=Role(row.role), scope_path=scope)
