"""Parse RTSP/1.0 requests and format responses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
SERVER_NAME = "camsim-rtsp/1.0"
_METHOD = re.compile(r"[A-Za-z_]{1,32}")

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "RTSP Version Not Supported",
}


class RequestError(ValueError):
    """A request could not be parsed."""


@dataclass(frozen=True)
class Request:
    """One RTSP request: method, URL, headers (lower-case names) and body."""

    method: str
    url: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def cseq(self) -> str | None:
        """Return the CSeq header, if any."""
        return self.headers.get("cseq")

    @property
    def path(self) -> str:
        """Return the decoded path of the request URL ("" for "*")."""
        if self.url == "*":
            return ""
        return unquote(urlsplit(self.url).path)

    @property
    def content_length(self) -> int:
        """Return the declared body length."""
        raw = self.headers.get("content-length", "0").strip()
        if not raw.isdigit():
            raise RequestError("bad Content-Length")
        return int(raw)


def parse_head(head: bytes) -> Request:
    """Parse a request line and headers (the bytes up to and including the blank line)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError("request is not UTF-8") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]) or not parts[2].startswith("RTSP/"):
        raise RequestError("malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise RequestError("malformed header line")
        headers[name.strip().lower()] = value.strip()
    return Request(parts[0].upper(), parts[1], parts[2], headers)


def format_response(
    status: int, cseq: str | None, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """Return the bytes of an RTSP response."""
    lines = [f"RTSP/1.0 {status} {REASONS.get(status, 'Unknown')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    lines.append(f"Server: {SERVER_NAME}")
    lines.append(f"Date: {formatdate(usegmt=True)}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def redact_url(url: str) -> str:
    """Return a URL with any user information removed, fit for a log line."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{scheme}://{authority}{slash}{tail}"
