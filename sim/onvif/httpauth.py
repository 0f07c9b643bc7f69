"""Check HTTP Digest (RFC 7616, MD5, qop=auth) and Basic credentials as camera web servers do."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time

REALM = "Camsim"
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?')


def parse_digest_params(value: str) -> dict[str, str]:
    """Return the key=value parameters of a Digest credentials header (without the scheme)."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None or match.end() == pos:
            break
        key, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[key] = raw
        pos = match.end()
    return params


def _md5(text: str) -> str:
    # MD5 is what RFC 7616's default algorithm and every camera use; it is not a security choice.
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class HttpCredentialChecker:
    """Issue Digest challenges and verify Digest or Basic credentials for one user."""

    def __init__(self, username: str, password: str, *, nonce_ttl_s: float = 300.0) -> None:
        self._username = username
        self._password = password
        self._secret = os.urandom(16)
        self._ttl = nonce_ttl_s
        self._opaque = os.urandom(8).hex()

    def _nonce(self, issued: int) -> str:
        mac = hmac.new(self._secret, str(issued).encode(), hashlib.sha256).hexdigest()[:24]
        return f"{issued:x}.{mac}"

    def _nonce_fresh(self, nonce: str) -> bool:
        issued_hex, _, _ = nonce.partition(".")
        try:
            issued = int(issued_hex, 16)
        except ValueError:
            return False
        if not hmac.compare_digest(nonce, self._nonce(issued)):
            return False
        return 0 <= time.time() - issued <= self._ttl

    def challenges(self, *, stale: bool = False) -> list[str]:
        """Return WWW-Authenticate values: Digest first (clients read the first), then Basic."""
        digest = (
            f'Digest realm="{REALM}", qop="auth", algorithm=MD5, '
            f'nonce="{self._nonce(int(time.time()))}", opaque="{self._opaque}"'
        )
        if stale:
            digest += ", stale=true"
        return [digest, f'Basic realm="{REALM}"']

    def check(self, method: str, target: str, authorization: str | None) -> bool | None:
        """Return True if authorised, False if not, None if the Digest nonce merely went stale."""
        if not authorization:
            return False
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() == "basic":
            return self._check_basic(rest.strip())
        if scheme.lower() == "digest":
            params = parse_digest_params(rest)
            # The digest covers the URI the client names; it must be the one it asked for.
            if params.get("uri") != target:
                return False
            return self._check_digest(method, params)
        return False

    def _check_basic(self, token: str) -> bool:
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        if not sep:
            return False
        return hmac.compare_digest(user.encode(), self._username.encode()) & hmac.compare_digest(
            password.encode(), self._password.encode()
        )

    def _check_digest(self, method: str, params: dict[str, str]) -> bool | None:
        required = ("username", "realm", "nonce", "uri", "response")
        if any(key not in params for key in required):
            return False
        if params["realm"] != REALM or params.get("algorithm", "MD5").upper() != "MD5":
            return False
        if not hmac.compare_digest(params["username"].encode(), self._username.encode()):
            return False
        ha1 = _md5(f"{self._username}:{REALM}:{self._password}")
        ha2 = _md5(f"{method}:{params['uri']}")
        qop = params.get("qop")
        if qop == "auth":
            if "nc" not in params or "cnonce" not in params:
                return False
            material = f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}"
        elif qop is None:
            material = f"{ha1}:{params['nonce']}:{ha2}"
        else:
            return False
        if not hmac.compare_digest(_md5(material).encode(), params["response"].lower().encode()):
            return False
        return True if self._nonce_fresh(params["nonce"]) else None
