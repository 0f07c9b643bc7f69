"""Check WS-Security UsernameToken credentials the way ONVIF cameras do."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element as XmlElement

from sim.onvif.soap import WSSE, WSU

_UT_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
DIGEST_TYPE = _UT_PROFILE + "#PasswordDigest"
TEXT_TYPE = _UT_PROFILE + "#PasswordText"


@dataclass(frozen=True)
class UsernameToken:
    """The fields of a wsse:UsernameToken as sent by the client."""

    username: str
    password: str
    password_type: str
    nonce: bytes
    created: str


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """Return Base64(SHA1(nonce + created + password)) as the UsernameToken profile defines."""
    material = nonce + created.encode("utf-8") + password.encode("utf-8")
    # SHA-1 is what the UsernameToken profile prescribes; the simulator must match clients.
    raw = hashlib.sha1(material, usedforsecurity=False).digest()
    return base64.b64encode(raw).decode("ascii")


def extract_token(header: XmlElement | None) -> UsernameToken | None:
    """Return the UsernameToken of a SOAP header, or None if it carries none."""
    if header is None:
        return None
    token = header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return None
    username = token.find(f"{{{WSSE}}}Username")
    password = token.find(f"{{{WSSE}}}Password")
    nonce = token.find(f"{{{WSSE}}}Nonce")
    created = token.find(f"{{{WSU}}}Created")
    if username is None or password is None:
        return None
    try:
        nonce_bytes = base64.b64decode(
            (nonce.text or "") if nonce is not None else "", validate=True
        )
    except (binascii.Error, ValueError):
        return None
    return UsernameToken(
        username=(username.text or "").strip(),
        password=(password.text or "").strip(),
        password_type=password.get("Type", TEXT_TYPE),
        nonce=nonce_bytes,
        created=((created.text or "") if created is not None else "").strip(),
    )


def parse_created(value: str) -> datetime | None:
    """Parse an xs:dateTime Created stamp; a stamp without a zone is taken as UTC."""
    if not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp


class NonceCache:
    """Remember recently accepted nonces so a replayed request can be refused."""

    def __init__(self, capacity: int = 4096) -> None:
        self._seen: OrderedDict[bytes, datetime] = OrderedDict()
        self._capacity = capacity

    def check_and_add(self, nonce: bytes, now: datetime, window: timedelta) -> bool:
        """Return False if the nonce was accepted within the window; otherwise record it."""
        while self._seen:
            oldest, when = next(iter(self._seen.items()))
            if now - when <= 2 * window and len(self._seen) < self._capacity:
                break
            del self._seen[oldest]
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        return True


@dataclass(frozen=True)
class AuthPolicy:
    """How strictly a device checks UsernameTokens."""

    window: timedelta = timedelta(minutes=5)
    reject_replayed_nonce: bool = True


def verify_token(
    token: UsernameToken | None,
    *,
    username: str,
    password: str,
    device_now: datetime,
    policy: AuthPolicy,
    nonces: NonceCache,
) -> str | None:
    """Return None if the token authenticates at the device's clock, else a short reason."""
    if token is None:
        return "no UsernameToken"
    if not hmac.compare_digest(token.username.encode(), username.encode()):
        return "unknown user"
    if token.password_type == DIGEST_TYPE:
        created = parse_created(token.created)
        if created is None:
            return "missing or invalid Created"
        # Cameras compare Created with their own clock, so a skewed device clock fails here.
        if abs(created - device_now) > policy.window:
            return "Created outside the accepted window"
        expected = password_digest(token.nonce, token.created, password)
        if not hmac.compare_digest(token.password.encode(), expected.encode()):
            return "wrong password digest"
        if policy.reject_replayed_nonce and not nonces.check_and_add(
            token.nonce, device_now, policy.window
        ):
            return "replayed nonce"
        return None
    if token.password_type == TEXT_TYPE:
        if not hmac.compare_digest(token.password.encode(), password.encode()):
            return "wrong password"
        return None
    return "unsupported password type"
