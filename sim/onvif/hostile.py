"""Hostile device behaviours, used only by tests of a client's hardening."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sim.onvif.http import Response
from sim.onvif.services import FOREIGN_HOST
from sim.onvif.soap import XML_DECLARATION, envelope
from sim.onvif.xmlwrite import Element, Raw, replace_first_leaf, serialize

BEHAVIOURS = frozenset(
    {
        "malformed_xml",  # SOAP replies cut off mid-element
        "xml_bomb",  # SOAP replies carrying a billion-laughs entity expansion
        "xxe",  # SOAP replies referencing an external entity (a local file)
        "deep_xml",  # SOAP replies nested 100,000 elements deep
        "huge_reply",  # SOAP replies of tens of MiB
        "foreign_stream_uri",  # GetStreamUri points at a host that is not the camera
        "foreign_xaddrs",  # GetServices/GetCapabilities advertise services on a foreign host
        "redirect",  # every request is redirected to a foreign host
        "not_onvif",  # an ordinary web page answers every request
        "silent",  # connections are accepted and never answered
        "trickle",  # a valid reply sent a couple of bytes per second
    }
)

# Behaviours that replace the body of every SOAP reply, before any authentication.
BODY_BEHAVIOURS = frozenset({"malformed_xml", "xml_bomb", "xxe", "deep_xml", "huge_reply"})
# Behaviours that answer any request at all, whatever its path.
TRANSPORT_BEHAVIOURS = frozenset({"redirect", "not_onvif", "silent"})

HUGE_REPLY_BYTES = 48 * 1024 * 1024
DEEP_XML_LEVELS = 100_000
SILENT_HOLD_S = 3600.0
TRICKLE_INTERVAL_S = 0.5
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

_BOMB_DTD = (
    "<!DOCTYPE env:Envelope [\n"
    '<!ENTITY lol0 "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)
_XXE_DTD = '<!DOCTYPE env:Envelope [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
_NOT_ONVIF_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Router login</title></head>"
    b"<body><h1>Welcome</h1><form method='post' action='/login'>"
    b"<input name='user'><input name='pass' type='password'></form></body></html>\n"
)


def hostile_soap_reply(behaviour: str, body: Element) -> Response:
    """Return the hostile rendering of a SOAP reply whose normal body element is ``body``."""
    if behaviour == "malformed_xml":
        text = XML_DECLARATION + serialize(envelope(body))
        # Cut in the middle of the body so the document is truncated, then append junk.
        cut = text.index("Body>") + len("Body>") + len(serialize(body)) // 2
        return _soap(text[:cut] + "<<</env:Envelope", 200)
    if behaviour == "xml_bomb":
        tree = envelope(replace_first_leaf(body, Raw("&lol9;")))
        return _soap(XML_DECLARATION + _BOMB_DTD + serialize(tree), 200)
    if behaviour == "xxe":
        tree = envelope(replace_first_leaf(body, Raw("&xxe;")))
        return _soap(XML_DECLARATION + _XXE_DTD + serialize(tree), 200)
    if behaviour == "deep_xml":
        nested = Raw("<a>" * DEEP_XML_LEVELS + "deep" + "</a>" * DEEP_XML_LEVELS)
        return _soap(XML_DECLARATION + serialize(envelope(replace_first_leaf(body, nested))), 200)
    if behaviour == "huge_reply":
        return _huge(body)
    raise ValueError(f"not a body behaviour: {behaviour}")


def _soap(text: str, status: int) -> Response:
    return Response(status=status, body=text.encode("utf-8"), content_type=SOAP_CONTENT_TYPE)


def _huge(body: Element) -> Response:
    marker = "\x00camsim-huge\x00"
    text = XML_DECLARATION + serialize(envelope(replace_first_leaf(body, Raw(marker))))
    head, _, tail = text.partition(marker)
    head_b, tail_b = head.encode("utf-8"), tail.encode("utf-8")
    chunk = b"A" * (1024 * 1024)
    count = HUGE_REPLY_BYTES // len(chunk)

    async def chunks() -> AsyncIterator[bytes]:
        yield head_b
        for _ in range(count):
            yield chunk
        yield tail_b

    return Response(
        status=200,
        content_type=SOAP_CONTENT_TYPE,
        stream=chunks,
        stream_length=len(head_b) + count * len(chunk) + len(tail_b),
    )


def trickle(response: Response) -> Response:
    """Return the same response, sent two bytes at a time with a pause between."""
    body = response.body

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 2):
            yield body[start : start + 2]
            await asyncio.sleep(TRICKLE_INTERVAL_S)

    return Response(
        status=response.status,
        content_type=response.content_type,
        headers=response.headers,
        stream=chunks,
        stream_length=len(body),
    )


async def transport_reply(behaviour: str, path: str) -> Response | None:
    """Answer any request the way a redirecting, non-ONVIF or silent device does."""
    if behaviour == "redirect":
        location = f"http://{FOREIGN_HOST}:8080{path}"
        return Response(status=302, headers=[("Location", location)], body=b"")
    if behaviour == "not_onvif":
        return Response(status=200, body=_NOT_ONVIF_PAGE, content_type="text/html; charset=utf-8")
    if behaviour == "silent":
        # Hold the connection open without a byte of reply; the server's stop cancels this.
        await asyncio.sleep(SILENT_HOLD_S)
        return None
    raise ValueError(f"not a transport behaviour: {behaviour}")
