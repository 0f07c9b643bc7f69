"""The one place that decides what a caller may see and do (objects outside scope answer 404)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.errors import ApiError, not_found
from camfleet.models import Camera, Site
from camfleet.tokens import Principal, Role

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def restrict(query: Q, principal: Principal) -> Q:
    """Limit a query that involves Site to the caller's subtree."""
    if principal.scope_path == "/":
        return query
    return query.where(Site.path.startswith(principal.scope_path, autoescape=True))


def site_in_scope(session: Session, principal: Principal, code: str) -> Site:
    """Return a site the caller can see, or answer 404."""
    site = session.scalars(restrict(select(Site).where(Site.code == code), principal)).first()
    if site is None:
        raise not_found("site")
    return site


def camera_in_scope(session: Session, principal: Principal, camera_id: int) -> Camera:
    """Return a camera whose precinct the caller can see, or answer 404."""
    query = select(Camera).join(Site, Camera.site_id == Site.id).where(Camera.id == camera_id)
    camera = session.scalars(restrict(query, principal)).first()
    if camera is None:
        raise not_found("camera")
    return camera


def require_action(principal: Principal) -> None:
    """Allow admins and installers (inside their scope) to act; monitors only read."""
    if principal.role is Role.MONITOR:
        raise ApiError(403, "a monitor token is read-only")


def require_admin(principal: Principal) -> None:
    """Allow only admins."""
    if principal.role is not Role.ADMIN:
        raise ApiError(403, "only an admin token may do this")


FOREIGN_CONFLICT = (
    "already registered to a precinct outside this token's scope; ask an admin to move it"
)


def conceal_foreign(principal: Principal, entry: dict[str, Any]) -> dict[str, Any]:
    """Return a registration result without the identity of a site the caller may not see.

    A conflict names the precinct and camera the device is registered to; for a scoped token
    that precinct lies outside its subtree, so only the fact of the conflict is told.
    """
    if principal.scope_path == "/" or entry.get("outcome") != "conflict":
        return entry
    return {
        **entry,
        "reason": FOREIGN_CONFLICT,
        "camera_id": None,
        "camera_name": None,
        "registered_site": None,
    }
