"""Register a camera by hand (no ONVIF): its stream addresses, and its login kept apart."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from camfleet.credentials import add_credential
from camfleet.models import Camera, Credential, MediaProfile, Site
from camfleet.timeutil import utcnow
from camfleet.vault import Vault
from discovery.addresses import split_credentials, url_host

STREAM_SCHEMES = ("rtsp", "rtsps")
# Logins that came with a manual camera are tried after the site's own candidates.
MANUAL_CREDENTIAL_PRIORITY = 500
# Profile tokens of a manual camera (not secrets).
MAIN_TOKEN = "main"  # noqa: S105
SUB_TOKEN = "sub"  # noqa: S105


class ManualCameraError(ValueError):
    """A manual camera cannot be registered as given; the message says why (no secrets)."""


def parse_stream_uri(uri: str) -> tuple[str, str | None, str | None]:
    """Return the credential-free stream URI, and the user name and password it carried."""
    try:
        clean, user, password = split_credentials(uri)
        urlsplit(clean).port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        # The parser's message may quote part of the URI, and so of a password in it.
        raise ManualCameraError("a stream URI has a host and a numeric port") from None
    # A login with an unencoded / ? or # is not read as a login at all: the URI would keep
    # the password, stored and shown as the camera's address.
    if "@" in clean:
        raise ManualCameraError(
            "a stream URI has '@' only after its login; percent-encode / ? # @ in a password"
        )
    scheme = clean.split("://", 1)[0].lower() if "://" in clean else ""
    if scheme not in STREAM_SCHEMES or url_host(clean) is None:
        raise ManualCameraError("a stream URI is rtsp://host[:port]/path (or rtsps://)")
    if len(clean) > 1000:
        raise ManualCameraError("a stream URI is at most 1000 characters")
    return clean, user, password


def _site_credential(
    session: Session, vault: Vault, site: Site, username: str, password: str
) -> Credential:
    existing = session.scalars(
        select(Credential).where(Credential.site_id == site.id, Credential.username == username)
    ).first()
    if existing is None:
        return add_credential(
            session, vault, site, username, password, priority=MANUAL_CREDENTIAL_PRIORITY
        )
    if vault.decrypt(existing.password_encrypted) != password:
        raise ManualCameraError(
            f"site {site.code} already has a different password for user {username!r}; "
            "update it with `camfleet credentials add` first"
        )
    return existing


def add_manual_camera(
    session: Session,
    vault: Vault,
    site: Site,
    name: str,
    stream_uri: str,
    sub_stream_uri: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> Camera:
    """Insert (or update, for a manual camera of that name) a camera without ONVIF."""
    if site.level != "precinct":
        raise ManualCameraError(f"cameras belong to precincts; {site.code} is a {site.level}")
    name = name.strip()
    if not name or len(name) > 120 or any(ord(c) < 32 for c in name):
        raise ManualCameraError("a camera name is 1-120 printable characters")
    main, main_user, main_password = parse_stream_uri(stream_uri)
    sub, sub_user, sub_password = (
        parse_stream_uri(sub_stream_uri)
        if sub_stream_uri
        else (
            None,
            None,
            None,
        )
    )
    embedded_user = main_user or sub_user
    embedded_password = main_password or sub_password
    if username and embedded_user and username != embedded_user:
        raise ManualCameraError("the stream URI names another user than --username")
    login_user = username or embedded_user
    login_password = password or embedded_password
    if login_user and not login_password:
        raise ManualCameraError(f"no password given for user {login_user!r}")
    camera = session.scalars(
        select(Camera).where(Camera.site_id == site.id, Camera.name == name)
    ).first()
    if camera is not None and camera.source != "manual":
        raise ManualCameraError(f"{site.code} already has an ONVIF camera named {name!r}")
    if camera is None:
        camera = Camera(site_id=site.id, name=name, source="manual", registered_at=utcnow())
        session.add(camera)
    camera.host = url_host(main)
    camera.main_profile_token = MAIN_TOKEN
    camera.check_profile_token = SUB_TOKEN if sub else MAIN_TOKEN
    profiles = {MAIN_TOKEN: main, **({SUB_TOKEN: sub} if sub else {})}
    camera.profiles.clear()
    session.flush()
    for token, uri in profiles.items():
        camera.profiles.append(MediaProfile(token=token, name=token, stream_uri=uri))
    if login_user and login_password:
        cred = _site_credential(session, vault, site, login_user, login_password)
        camera.credential_id = cred.id
    session.flush()
    return camera
