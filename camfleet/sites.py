"""Queries over the site tree."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from camfleet.models import Site


class SiteNotFound(LookupError):
    """No site has the given code."""


def get_site(session: Session, code: str) -> Site:
    """Return the site with a code, or raise SiteNotFound."""
    site = session.scalars(select(Site).where(Site.code == code)).first()
    if site is None:
        raise SiteNotFound(f"no site with code {code!r}")
    return site


def subtree(session: Session, root: Site | None, level: str | None = None) -> Sequence[Site]:
    """Return the sites under root (itself included), in path order, optionally of one level."""
    query = select(Site).order_by(Site.path)
    if root is not None:
        query = query.where(Site.path.startswith(root.path, autoescape=True))
    if level is not None:
        query = query.where(Site.level == level)
    return session.scalars(query).all()


def ancestors(session: Session, site: Site) -> list[Site]:
    """Return the site's ancestors, top down."""
    codes = [c for c in site.path.strip("/").split("/")[:-1] if c]
    if not codes:
        return []
    found = {s.code: s for s in session.scalars(select(Site).where(Site.code.in_(codes)))}
    return [found[c] for c in codes if c in found]
