"""Each hostile device behaviour produces what it claims (for camfleet's hardening tests)."""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from defusedxml import EntitiesForbidden

from sim.onvif.hostile import BEHAVIOURS, DEEP_XML_LEVELS, HUGE_REPLY_BYTES
from sim.onvif.services import FOREIGN_HOST
from tests.sim.onvif_helpers import client, make_camera, running, soap_request

DEVICE_NS = "http://www.onvif.org/ver10/device/wsdl"
MEDIA_NS = "http://www.onvif.org/ver10/media/wsdl"
_hosts = iter(f"127.0.22.{n}" for n in range(40, 80))


async def _post(behaviour: str, operation: str = "GetDeviceInformation") -> httpx.Response:
    cam = make_camera(next(_hosts))
    # A wrong password: hostile payloads are sent before any authentication.
    body = soap_request(operation, DEVICE_NS, cam.username, "wrong")
    async with running(cam, behaviour=behaviour), httpx.AsyncClient(timeout=10) as http:
        return await http.post(cam.xaddr, content=body)


def test_every_behaviour_is_listed() -> None:
    assert {
        "malformed_xml",
        "xml_bomb",
        "xxe",
        "deep_xml",
        "huge_reply",
        "foreign_stream_uri",
        "foreign_xaddrs",
        "redirect",
        "not_onvif",
        "silent",
        "trickle",
    } == BEHAVIOURS


@pytest.mark.asyncio
async def test_malformed_xml_does_not_parse() -> None:
    reply = await _post("malformed_xml")
    assert reply.status_code == 200
    assert reply.content.startswith(b"<?xml")
    with pytest.raises(ET.ParseError):
        ET.fromstring(reply.content)


@pytest.mark.asyncio
async def test_xml_bomb_carries_a_billion_laughs() -> None:
    reply = await _post("xml_bomb", "GetSystemDateAndTime")
    assert b'<!ENTITY lol9 "&lol8;&lol8;' in reply.content
    assert b"&lol9;" in reply.content
    assert len(reply.content) < 10_000
    with pytest.raises(EntitiesForbidden):
        SafeET.fromstring(reply.content)


@pytest.mark.asyncio
async def test_xxe_references_a_local_file() -> None:
    reply = await _post("xxe")
    assert b'<!ENTITY xxe SYSTEM "file:///etc/passwd">' in reply.content
    assert b"<tds:Manufacturer>&xxe;</tds:Manufacturer>" in reply.content


@pytest.mark.asyncio
async def test_deep_xml_nests_far_beyond_any_schema() -> None:
    reply = await _post("deep_xml")
    assert reply.content.count(b"<a>") == DEEP_XML_LEVELS
    assert reply.content.count(b"</a>") == DEEP_XML_LEVELS


@pytest.mark.asyncio
async def test_huge_reply_is_tens_of_mebibytes() -> None:
    cam = make_camera(next(_hosts))
    body = soap_request("GetDeviceInformation", DEVICE_NS, cam.username, cam.password)
    received = 0
    async with (
        running(cam, behaviour="huge_reply"),
        httpx.AsyncClient(timeout=30) as http,
        http.stream("POST", cam.xaddr, content=body) as reply,
    ):
        declared = int(reply.headers["content-length"])
        async for chunk in reply.aiter_raw():
            received += len(chunk)
    assert declared == received
    assert received >= HUGE_REPLY_BYTES >= 20 * 1024 * 1024


@pytest.mark.asyncio
async def test_foreign_addresses_point_away_from_the_device() -> None:
    stream_cam = make_camera(next(_hosts))
    async with running(stream_cam, behaviour="foreign_stream_uri"), client(stream_cam) as onvif:
        await onvif.update_xaddrs()
        media = await onvif.create_media_service()
        reply = await media.GetStreamUri(
            {
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                "ProfileToken": "main",
            }
        )
    assert reply.Uri.startswith(f"rtsp://{FOREIGN_HOST}:554/")
    xaddr_cam = make_camera(next(_hosts))
    async with running(xaddr_cam, behaviour="foreign_xaddrs"), client(xaddr_cam) as onvif:
        # Only the addresses are read; nothing ever connects to the foreign host.
        await onvif.update_xaddrs()
    assert onvif.xaddrs[MEDIA_NS].startswith(f"http://{FOREIGN_HOST}:")


@pytest.mark.asyncio
async def test_redirect_and_not_onvif_answer_every_path() -> None:
    redirect = await _post("redirect")
    assert redirect.status_code == 302
    assert redirect.headers["location"].startswith(f"http://{FOREIGN_HOST}:")
    page = await _post("not_onvif")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert b"<html>" in page.content


async def _bytes_within(behaviour: str, seconds: float) -> bytes:
    cam = make_camera(next(_hosts))
    body = soap_request("GetSystemDateAndTime", DEVICE_NS, cam.username, cam.password)
    request = (
        f"POST /onvif/device_service HTTP/1.1\r\nHost: {cam.host}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    received = b""
    async with running(cam, behaviour=behaviour):
        reader, writer = await asyncio.open_connection(cam.host, cam.onvif_port)
        writer.write(request)
        await writer.drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), left)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
        assert not reader.at_eof(), "the connection must stay open"
        writer.close()
    return received


@pytest.mark.asyncio
async def test_silent_accepts_and_never_answers() -> None:
    assert await _bytes_within("silent", 0.8) == b""


@pytest.mark.asyncio
async def test_trickle_sends_a_couple_of_bytes_per_half_second() -> None:
    received = await _bytes_within("trickle", 1.2)
    head, sep, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert sep
    assert b"Content-Length: " in head
    assert 2 <= len(body) <= 8
