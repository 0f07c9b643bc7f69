"""Candidate camera credentials per site subtree, encrypted at rest."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from camfleet.models import Credential, Site
from camfleet.sites import ancestors
from camfleet.vault import Vault


class CredentialError(ValueError):
    """A credential cannot be stored as asked."""


@dataclass(frozen=True)
class Login:
    """A username and its decrypted password, for connect time only; repr hides the password."""

    credential_id: int | None
    username: str
    password: str = field(repr=False)


def add_credential(
    session: Session,
    vault: Vault,
    site: Site | None,
    username: str,
    password: str,
    priority: int = 100,
) -> Credential:
    """Store (or replace) the password of a username for a site subtree, or globally."""
    if not username or len(username) > 120 or any(c in username for c in "\r\n\t:"):
        raise CredentialError("a username is 1-120 characters without ':' or control characters")
    if not password or len(password) > 500:
        raise CredentialError("a password is 1-500 characters")
    site_id = site.id if site else None
    row = session.scalars(
        select(Credential).where(
            Credential.site_id.is_(site_id) if site_id is None else Credential.site_id == site_id,
            Credential.username == username,
        )
    ).first()
    if row is None:
        row = Credential(site_id=site_id, username=username, password_encrypted=b"")
        session.add(row)
    row.password_encrypted = vault.encrypt(password)
    row.priority = priority
    session.flush()
    return row


def candidate_credentials(session: Session, site: Site) -> list[Credential]:
    """Return the credentials to try at a site: its own, then its ancestors', then global ones."""
    chain = [site, *reversed(ancestors(session, site))]
    order = {s.id: i for i, s in enumerate(chain)}
    rows = session.scalars(
        select(Credential).where(Credential.site_id.in_(list(order)) | Credential.site_id.is_(None))
    ).all()
    return sorted(
        rows,
        key=lambda c: (
            order.get(c.site_id, len(order)) if c.site_id else len(order),
            c.priority,
            c.id,
        ),
    )


def unlock(vault: Vault, credential: Credential) -> Login:
    """Decrypt a stored credential for a connection."""
    return Login(credential.id, credential.username, vault.decrypt(credential.password_encrypted))
