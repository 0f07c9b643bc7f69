"""Check RTSP credentials as IP cameras do: Digest (RFC 2617, MD5) challenges, Basic accepted."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

REALM = "camsim"
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _md5(text: str) -> str:
    """Return the hex MD5 of a string."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_digest(header: str) -> dict[str, str]:
    """Return the parameters of a Digest Authorization header value (after "Digest")."""
    return {m[0].lower(): m[1] if m[1] or not m[2] else m[2] for m in _PARAM.findall(header)}


class DigestAuth:
    """Issue nonces and verify Digest or Basic credentials for one server."""

    def __init__(self, realm: str = REALM) -> None:
        """Create an authenticator with a fresh secret for stateless nonces."""
        self.realm = realm
        self._secret = secrets.token_bytes(16)

    def _nonce_mac(self, salt: str) -> str:
        """Return the MAC part of a nonce."""
        return hmac.new(self._secret, salt.encode(), hashlib.sha256).hexdigest()[:16]

    def new_nonce(self) -> str:
        """Return a nonce this server will accept for its whole lifetime."""
        salt = secrets.token_hex(8)
        return salt + self._nonce_mac(salt)

    def _nonce_valid(self, nonce: str) -> bool:
        """Tell whether this server issued the nonce."""
        salt, mac = nonce[:16], nonce[16:]
        return len(nonce) == 32 and hmac.compare_digest(mac, self._nonce_mac(salt))

    def challenge(self) -> str:
        """Return a WWW-Authenticate header value."""
        return f'Digest realm="{self.realm}", nonce="{self.new_nonce()}", algorithm="MD5"'

    def check(self, method: str, authorization: str | None, username: str, password: str) -> bool:
        """Tell whether an Authorization header carries the given credentials."""
        if not authorization:
            return False
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() == "basic":
            return self._check_basic(rest.strip(), username, password)
        if scheme.lower() == "digest":
            return self._check_digest(method, parse_digest(rest), username, password)
        return False

    @staticmethod
    def _check_basic(token: str, username: str, password: str) -> bool:
        """Verify Basic credentials."""
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{username}:{password}"
        return hmac.compare_digest(decoded.encode(), expected.encode())

    def _check_digest(
        self, method: str, params: dict[str, str], username: str, password: str
    ) -> bool:
        """Verify a Digest response, with or without qop=auth."""
        needed = ("username", "realm", "nonce", "uri", "response")
        if any(key not in params for key in needed):
            return False
        if params["username"] != username or params["realm"] != self.realm:
            return False
        if not self._nonce_valid(params["nonce"]):
            return False
        ha1 = _md5(f"{username}:{self.realm}:{password}")
        ha2 = _md5(f"{method}:{params['uri']}")
        if params.get("qop") == "auth":
            nc, cnonce = params.get("nc", ""), params.get("cnonce", "")
            expected = _md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{params['nonce']}:{ha2}")
        return hmac.compare_digest(expected, params["response"].lower())
