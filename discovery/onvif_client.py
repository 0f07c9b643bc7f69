"""The one adapter to onvif-zeep-async and zeep: hardened settings and transport, typed errors.

onvif-zeep-async 4.3 as shipped reads replies whole with ``xml_huge_tree=True``, follows
redirects to any host, waits about 90 s for a silent device and does not compensate clock
skew by default. This adapter uses the library's WSDLs, WS-Security token and zeep client,
but with its own parser settings and an httpx transport that caps the reply size, refuses
redirects and times every call out; every failure leaves here as a discovery error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from lxml import etree  # type: ignore[import-untyped]

from discovery.errors import (
    ActionNotSupported,
    DeviceError,
    DeviceFault,
    NotAuthorized,
    NotOnvif,
    RefusedAddress,
    Unreachable,
)

DEVICE_NS = "http://www.onvif.org/ver10/device/wsdl"
MEDIA_NS = "http://www.onvif.org/ver10/media/wsdl"
_SERVICES = {
    "devicemgmt": ("devicemgmt.wsdl", f"{{{DEVICE_NS}}}DeviceBinding"),
    "media": ("media.wsdl", f"{{{MEDIA_NS}}}MediaBinding"),
}
_SOAP_ENVELOPES = frozenset(
    {
        "{http://www.w3.org/2003/05/soap-envelope}Envelope",
        "{http://schemas.xmlsoap.org/soap/envelope/}Envelope",
    }
)
# SOAP over HTTP answers 200, or 400/500 with a fault; anything else is not a SOAP service.
_SOAP_STATUSES = frozenset({200, 400, 500})
# Fault subcodes (local names) that mean "wrong login" or "optional call not there".
_AUTH_SUBCODES = frozenset({"NotAuthorized", "FailedAuthentication", "InvalidSecurity"})
_UNSUPPORTED_SUBCODES = frozenset(
    {"ActionNotSupported", "ActionNotImplemented", "NotImplemented", "OptionalActionNotImplemented"}
)


@dataclass(frozen=True)
class Limits:
    """Bounds on one device conversation."""

    call_timeout_s: float
    max_reply_bytes: int


@dataclass(frozen=True)
class Credentials:
    """A login to present with WS-Security; repr hides the password."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"


@dataclass(frozen=True)
class _Reply:
    """The parts of an HTTP reply zeep reads (a requests.Response look-alike)."""

    status_code: int
    content: bytes
    headers: httpx.Headers
    encoding: str | None


def _hardened_settings() -> Any:
    from zeep.settings import Settings

    # strict=False keeps zeep lenient about schema quirks of real cameras; well-formedness
    # is checked strictly by the transport before zeep sees a byte (recover mode is never used).
    return Settings(
        strict=False,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )


def _check_xml(content: bytes) -> None:
    """Refuse a reply that is not a well-formed SOAP envelope without DTDs or entities."""
    # Name the attack rather than the parser error it would cause (entity bombs, XXE).
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise NotOnvif("xml_forbidden", "reply declares a DTD or entities; refused")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        recover=False,
        load_dtd=False,
        remove_comments=True,
    )
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise NotOnvif("malformed_xml", f"reply is not well-formed XML ({_short(exc)})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise NotOnvif("xml_forbidden", "reply declares a DTD or entities; refused")
    if root.tag not in _SOAP_ENVELOPES:
        raise NotOnvif("not_soap", "reply is XML but not a SOAP envelope")


def _short(exc: object) -> str:
    # Fault reasons come from the device: no control characters (terminal escapes), short.
    text = "".join(c if c.isprintable() else " " for c in str(exc)[:1000])
    return " ".join(text.split())[:160]


class _Transport:
    """Post SOAP envelopes with a body cap, no redirects and no environment proxies."""

    def __init__(self, client: httpx.AsyncClient, limits: Limits) -> None:
        self._client = client
        self._limits = limits

    async def post_xml(self, address: str, envelope: Any, headers: Mapping[str, str]) -> _Reply:
        """Send one envelope and return the checked reply."""
        from zeep.wsdl.utils import etree_to_string

        data = etree_to_string(envelope)  # type: ignore[no-untyped-call]
        head = dict(headers)
        head.setdefault("Content-Type", 'application/soap+xml; charset="utf-8"')
        return await self._post(address, data, head)

    async def _post(self, address: str, data: bytes, headers: dict[str, str]) -> _Reply:
        cap = self._limits.max_reply_bytes
        async with self._client.stream("POST", address, content=data, headers=headers) as resp:
            if 300 <= resp.status_code < 400:
                raise RefusedAddress("redirect_refused", "device redirected the call; not followed")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise NotOnvif("reply_too_large", f"reply of {int(declared)} bytes exceeds {cap}")
            body = bytearray()
            async for chunk in resp.aiter_raw():
                body.extend(chunk)
                if len(body) > cap:
                    raise NotOnvif("reply_too_large", f"reply exceeds {cap} bytes; aborted")
        content = bytes(body)
        if resp.status_code in (401, 403):
            # HTTP authentication in front of the SOAP service (WS-Security was not enough).
            raise NotAuthorized("http_auth", f"device answered HTTP {resp.status_code}")
        if resp.status_code not in _SOAP_STATUSES:
            raise NotOnvif("http_status", f"device answered HTTP {resp.status_code}")
        media = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            raise NotOnvif("not_soap", f"device answered an HTML page (HTTP {resp.status_code})")
        if not content.strip():
            raise NotOnvif("empty_reply", f"device answered HTTP {resp.status_code} without a body")
        _check_xml(content)
        return _Reply(resp.status_code, content, resp.headers, resp.charset_encoding)

    def load(self, url: str) -> bytes:
        """Refuse to fetch documents: WSDLs come from the library's files only."""
        raise NotOnvif("xml_forbidden", "remote document loading refused")


def _wsdl_dir() -> Path:
    import onvif

    return Path(onvif.__file__).parent / "wsdl"


async def _document(service: str) -> Any:
    # The library's parsed-WSDL cache; it also installs its forgiving date and time types.
    from onvif.client import _cached_document

    wsdl, _ = _SERVICES[service]
    return await _cached_document(str(_wsdl_dir() / wsdl))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Building a verifying context loads the CA bundle (~0.1 s): do it once per process.
    return ssl.create_default_context()


async def preload_documents() -> None:
    """Parse the device and media WSDLs once per process, ahead of the first device."""
    for service in _SERVICES:
        await _document(service)


def _local(name: object) -> str:
    text = str(getattr(name, "localname", None) or getattr(name, "text", None) or name or "")
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _translate(exc: BaseException) -> DeviceError:
    """Turn a zeep, httpx or asyncio error into a discovery error with a safe message."""
    import zeep.exceptions as zx

    if isinstance(exc, DeviceError):
        return exc
    if isinstance(exc, zx.Fault):
        subcodes = {_local(s) for s in (exc.subcodes or [])} | {_local(exc.code)}
        reason = _short(exc.message or "")
        if subcodes & _AUTH_SUBCODES:
            return NotAuthorized("not_authorized", "device refused the credentials")
        if subcodes & _UNSUPPORTED_SUBCODES:
            return ActionNotSupported("action_not_supported", reason or "not supported")
        return DeviceFault("soap_fault", f"device fault: {reason or 'no reason given'}")
    if isinstance(exc, zx.TransportError):
        if exc.status_code in (401, 403):
            return NotAuthorized("http_auth", f"device answered HTTP {exc.status_code}")
        return NotOnvif("http_status", f"device answered HTTP {exc.status_code}")
    if isinstance(exc, zx.DTDForbidden | zx.EntitiesForbidden):
        return NotOnvif("xml_forbidden", "reply declares a DTD or entities; refused")
    if isinstance(exc, zx.XMLSyntaxError | zx.XMLParseError):
        return NotOnvif("malformed_xml", "reply could not be parsed")
    if isinstance(exc, zx.Error):
        return NotOnvif("bad_reply", f"reply does not fit the ONVIF schema ({type(exc).__name__})")
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Unreachable("timeout", "device did not answer in time")
    if isinstance(exc, httpx.ConnectError):
        if isinstance(exc.__cause__ or exc.__context__, ssl.SSLError):
            return Unreachable("tls_failed", "TLS handshake failed (certificate not trusted?)")
        return Unreachable("connect_failed", "connection refused or no route to the device")
    if isinstance(exc, httpx.HTTPError):
        return Unreachable("http_error", f"HTTP exchange failed ({type(exc).__name__})")
    if isinstance(exc, etree.LxmlError):
        return NotOnvif("malformed_xml", "reply could not be parsed")
    return NotOnvif("bad_reply", f"unusable reply ({type(exc).__name__})")


class OnvifSession:
    """A conversation with one device: its HTTP client, WSDLs and WS-Security token."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        timeout = httpx.Timeout(limits.call_timeout_s)
        self._http = httpx.AsyncClient(
            timeout=timeout,
            verify=_tls_context(),
            follow_redirects=False,
            trust_env=False,
            # The cap counts bytes on the wire: ask for them uncompressed (no gzip bombs either).
            headers={"Accept-Encoding": "identity"},
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        )
        self._transport = _Transport(self._http, limits)
        self._settings = _hardened_settings()
        self.credentials: Credentials | None = None
        self.clock_offset: timedelta | None = None

    async def __aenter__(self) -> OnvifSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def call(
        self,
        service: str,
        address: str,
        operation: str,
        params: Mapping[str, Any] | None = None,
        *,
        authenticated: bool = True,
    ) -> Any:
        """Call one operation and return its reply as plain dicts and lists."""
        try:
            # The WSDLs are local files parsed once per process: outside the device's deadline.
            proxy = await self._proxy(service, address, authenticated)
            async with asyncio.timeout(self._limits.call_timeout_s):
                result = await getattr(proxy, operation)(**dict(params or {}))
            return _plain(result)
        except DeviceError:
            raise
        except Exception as exc:  # noqa: BLE001 - every library error becomes a typed one
            raise _translate(exc) from None

    async def _proxy(self, service: str, address: str, authenticated: bool) -> Any:
        from onvif.client import UsernameDigestTokenDtDiff, ZeepAsyncClient
        from onvif.wsa import WsAddressingIfMissingPlugin

        wsse = None
        if authenticated and self.credentials is not None:
            # The device checks Created against its own clock: sign with its time, not ours.
            wsse = UsernameDigestTokenDtDiff(
                self.credentials.username,
                self.credentials.password,
                dt_diff=self.clock_offset,
                use_digest=True,
            )
        client = ZeepAsyncClient(
            wsdl=await _document(service),
            wsse=wsse,
            transport=self._transport,
            settings=self._settings,
            plugins=[WsAddressingIfMissingPlugin()],
        )
        return client.create_service(_SERVICES[service][1], address)


def _plain(value: Any) -> Any:
    from zeep.helpers import serialize_object

    return serialize_object(value, dict)  # type: ignore[no-untyped-call]


def device_utc(reply: Mapping[str, Any] | None) -> datetime | None:
    """Return the device's UTC clock from a GetSystemDateAndTime reply, or None if unusable."""
    if not reply:
        return None
    stamp = reply.get("UTCDateTime") if isinstance(reply, Mapping) else None
    if not isinstance(stamp, Mapping):
        return None
    date, time = stamp.get("Date"), stamp.get("Time")
    if not isinstance(date, Mapping) or not isinstance(time, Mapping):
        return None
    with contextlib.suppress(KeyError, TypeError, ValueError, OverflowError):
        return datetime(
            int(date["Year"]),
            int(date["Month"]),
            int(date["Day"]),
            int(time["Hour"]),
            int(time["Minute"]),
            int(time["Second"]),
            tzinfo=UTC,
        )
    return None
