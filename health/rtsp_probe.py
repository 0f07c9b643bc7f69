"""Diagnose why an RTSP stream does not open: one DESCRIBE, with digest or basic auth."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from health.status import Status

_MAX_HEADER_BYTES = 16 * 1024
_MAX_BODY_BYTES = 64 * 1024
_DEFAULT_PORT = 554
_STATUS_LINE = re.compile(r"^RTSP/1\.\d (\d{3})(?: (.*))?$")
_AUTH_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))')


@dataclass(frozen=True)
class ProbeResult:
    """What a raw RTSP DESCRIBE found out about a stream."""

    status: Status
    code: str
    message: str
    rtsp_status: int | None = None


@dataclass
class _Reply:
    """One parsed RTSP response."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> list[str]:
        """Return every value of a header, matched without regard to case."""
        return [value for key, value in self.headers if key.lower() == name.lower()]


class _NoAnswer(Exception):
    """The peer accepted the connection but sent no complete reply ("timeout" or "closed")."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class _BadReply(Exception):
    """The peer sent something that is not an RTSP reply within our size limits."""


@dataclass(frozen=True)
class _Target:
    """Where to connect, and the credential-free URL to name in requests and messages."""

    host: str
    port: int
    url: str


def _parse_target(uri: str) -> _Target:
    """Split an rtsp:// URL into host, port and its credential-free form."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "rtsp" or not parts.hostname:
        raise ValueError("not an rtsp:// URL with a host")
    port = parts.port or _DEFAULT_PORT
    host = parts.hostname
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return _Target(host, port, url)


def _digest(algorithm: str, text: str) -> str:
    """Return the hex digest of text with the digest-auth algorithm named by the server."""
    name = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"
    return hashlib.new(name, text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _challenge(reply: _Reply) -> tuple[str, dict[str, str]] | None:
    """Return the strongest authentication scheme offered and its parameters."""
    offers: list[tuple[str, dict[str, str]]] = []
    for value in reply.header("WWW-Authenticate"):
        scheme, _, rest = value.strip().partition(" ")
        params = {
            m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _AUTH_PARAM.finditer(rest)
        }
        offers.append((scheme.lower(), params))
    for wanted in ("digest", "basic"):
        for scheme, params in offers:
            if scheme == wanted:
                return scheme, params
    return None


def authorization(
    scheme: str, params: dict[str, str], method: str, url: str, username: str, password: str
) -> str:
    """Return the Authorization header answering a challenge (RFC 2617 / 7616 digest or basic)."""
    if scheme == "basic":
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        return f"Basic {token}"
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    algorithm = params.get("algorithm", "MD5")
    ha1 = _digest(algorithm, f"{username}:{realm}:{password}")
    ha2 = _digest(algorithm, f"{method}:{url}")
    fields = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{url}"',
    ]
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce, count = secrets.token_hex(8), "00000001"
        response = _digest(algorithm, f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        response = _digest(algorithm, f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if "algorithm" in params:
        fields.append(f"algorithm={algorithm}")
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


class _Session:
    """One TCP connection to an RTSP server, with a hard deadline on every exchange."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._cseq = 0
        self._buffer = b""

    def _recv(self) -> bytes:
        """Receive some bytes before the deadline; raise _NoAnswer on silence or close."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise _NoAnswer("timeout", "deadline passed")
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(4096)
        except TimeoutError as exc:
            raise _NoAnswer("timeout", "no reply in time") from exc
        if not data:
            raise _NoAnswer("closed", "connection closed")
        return data

    def request(self, method: str, url: str, extra: dict[str, str]) -> _Reply:
        """Send one request and return its reply."""
        self._cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self._cseq}", "User-Agent: camfleet"]
        lines += [f"{key}: {value}" for key, value in extra.items()]
        self._sock.settimeout(max(0.001, self._deadline - time.monotonic()))
        try:
            self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        except TimeoutError as exc:
            raise _NoAnswer("timeout", "could not send in time") from exc
        return self._read_reply()

    def _read_reply(self) -> _Reply:
        """Read one reply: bounded header, bounded body."""
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > _MAX_HEADER_BYTES:
                raise _BadReply("reply header too large")
            self._buffer += self._recv()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        text = head.decode("utf-8", "replace").split("\r\n")
        match = _STATUS_LINE.match(text[0].strip())
        if match is None:
            raise _BadReply("not an RTSP reply")
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in text[1:])]
        reply = _Reply(int(match.group(1)), match.group(2) or "", headers)
        lengths = reply.header("Content-Length")
        length = int(lengths[0]) if lengths and lengths[0].isdigit() else 0
        if length > _MAX_BODY_BYTES:
            raise _BadReply("reply body too large")
        while len(self._buffer) < length:
            self._buffer += self._recv()
        reply.body, self._buffer = self._buffer[:length], self._buffer[length:]
        return reply


def _connect(target: _Target, deadline: float) -> socket.socket | ProbeResult:
    """Open the TCP connection, or return why the host or port does not answer."""
    where = f"{target.host}:{target.port}"
    timeout = max(0.001, deadline - time.monotonic())
    try:
        return socket.create_connection((target.host, target.port), timeout=timeout)
    except ConnectionRefusedError:
        return ProbeResult(Status.UNREACHABLE, "refused", f"{where} refused the connection")
    except TimeoutError:
        message = f"{where} did not accept a connection within {timeout:.1f} s"
        return ProbeResult(Status.UNREACHABLE, "timeout", message)
    except socket.gaierror as exc:
        return ProbeResult(Status.UNREACHABLE, "dns", f"{target.host} does not resolve: {exc}")
    except OSError as exc:
        message = f"{where} is unreachable: {exc.strerror or type(exc).__name__}"
        return ProbeResult(Status.UNREACHABLE, "unreachable", message)


def _printable(text: str, limit: int = 80) -> str:
    """Return device text fit for a message: printable characters only, cut short."""
    return " ".join("".join(c if c.isprintable() else " " for c in text[:limit]).split())


def _classify(reply: _Reply, target: _Target, tried_credentials: bool) -> ProbeResult:
    """Map the final DESCRIBE reply to a status."""
    code, url = reply.status, target.url
    if code == 200:
        sdp = reply.body.decode("utf-8", "replace")
        if re.search(r"^m=video ", sdp, re.MULTILINE):
            return ProbeResult(Status.OK, "ok", f"{url} describes a video stream", code)
        return ProbeResult(Status.NO_VIDEO, "no_video_track", f"{url} has no video track", code)
    if code in (401, 403):
        if tried_credentials:
            message = f"{url} rejected the credentials (RTSP {code})"
        else:
            message = f"{url} requires credentials and none are stored (RTSP {code})"
        return ProbeResult(Status.AUTH_FAILED, "auth_failed", message, code)
    if code == 404:
        return ProbeResult(Status.NOT_FOUND, "not_found", f"{url} does not exist (RTSP 404)", code)
    message = f"{url} answered RTSP {code} {_printable(reply.reason)}".rstrip()
    return ProbeResult(Status.NO_VIDEO, f"rtsp_{code}", message, code)


def probe_stream(
    uri: str, username: str | None, password: str | None, timeout_s: float
) -> ProbeResult:
    """Describe the stream once (authenticating if asked) and classify what happened."""
    deadline = time.monotonic() + timeout_s
    try:
        target = _parse_target(uri)
    except ValueError as exc:
        return ProbeResult(Status.NOT_FOUND, "bad_uri", f"stream URI is unusable: {exc}")
    connected = _connect(target, deadline)
    if isinstance(connected, ProbeResult):
        return connected
    where = f"{target.host}:{target.port}"
    tried = username is not None and password is not None
    try:
        with connected as sock:
            session = _Session(sock, deadline)
            accept = {"Accept": "application/sdp"}
            reply = session.request("DESCRIBE", target.url, accept)
            offer = _challenge(reply) if reply.status == 401 else None
            if offer is not None and username is not None and password is not None:
                header = authorization(*offer, "DESCRIBE", target.url, username, password)
                reply = session.request("DESCRIBE", target.url, accept | {"Authorization": header})
    except _NoAnswer as exc:
        message = f"{where} accepted the connection but gave no RTSP answer ({exc})"
        return ProbeResult(Status.UNREACHABLE, exc.code, message)
    except _BadReply as exc:
        return ProbeResult(Status.NO_VIDEO, "protocol_error", f"{where} sent a bad reply: {exc}")
    except OSError as exc:
        message = f"{where} dropped the connection: {exc.strerror or type(exc).__name__}"
        return ProbeResult(Status.UNREACHABLE, "connection_lost", message)
    return _classify(reply, target, tried)
