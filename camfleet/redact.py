"""Blank credentials out of anything that may be shown: URLs and free text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# A login may hold unencoded / ? # or @ that no URL parser reads as a login: blank all up to
# the last @ of the URL, which may blank some path too but never leaves a password. A URL ends
# at white space, a quote or an angle bracket, so a JSON document or a log line stays intact.
_URL_CREDS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^\s\"'<>]*)@")


def redact_url(url: str) -> str:
    """Return the URL with any user name and password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if parts.username is None and parts.password is None:
        return redact_text(url) if "@" in url else url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if _has_port(parts.netloc) else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _has_port(netloc: str) -> bool:
    hostport = netloc.rsplit("@", 1)[-1]
    return bool(re.search(r":\d+$", hostport))


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return text with URL credentials and each given secret replaced by ``***``."""
    out = _URL_CREDS.sub(lambda m: f"{m.group('scheme')}***@", text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out
