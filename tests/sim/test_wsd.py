"""WS-Discovery responder: probe parsing and matching, and unicast answers on loopback."""

from __future__ import annotations

import asyncio
import socket
import uuid
from xml.etree import ElementTree as ET

import pytest

from sim.onvif.services import scopes
from sim.spec import parse_spec
from sim.wsd import (
    MATCH_STRCMP0,
    WsdResponder,
    parse_probe,
    probe_matches,
)

S = "http://www.w3.org/2003/05/soap-envelope"
A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
D = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
PORT = 3702

SPEC = parse_spec(
    {
        "defaults": {"host_base": "127.0.22.90"},
        "sites": [
            {
                "code": "TST-02-0002",
                "cameras": [
                    {"name": "zal-1"},
                    {"name": "zal 2", "model": "CS-3100"},
                    {"name": "dark", "onvif": False},
                ],
            }
        ],
    }
)


def probe_xml(
    message_id: str, types: str | None = "dn:NetworkVideoTransmitter", scopes_xml: str = ""
) -> bytes:
    types_xml = f"<d:Types>{types}</d:Types>" if types is not None else ""
    return f"""<?xml version="1.0"?>
<s:Envelope xmlns:s="{S}" xmlns:a="{A}" xmlns:d="{D}" xmlns:dn="{DN}" xmlns:tds="{TDS}"><s:Header>
<a:Action>{D}/Probe</a:Action><a:MessageID>{message_id}</a:MessageID>
<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>
<s:Body><d:Probe>{types_xml}{scopes_xml}</d:Probe></s:Body></s:Envelope>""".encode()


def test_probe_parsing_resolves_type_prefixes() -> None:
    probe = parse_probe(probe_xml("urn:uuid:1", "dn:NetworkVideoTransmitter"))
    assert probe is not None
    assert probe.message_id == "urn:uuid:1"
    assert probe.types == ((DN, "NetworkVideoTransmitter"),)
    untyped = parse_probe(probe_xml("urn:uuid:2", None))
    assert untyped is not None
    assert untyped.types == ()


@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b"garbage",
        b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
        probe_xml("urn:uuid:3").replace(b"/Probe</a:Action>", b"/Hello</a:Action>"),
        probe_xml("").replace(b"<a:MessageID></a:MessageID>", b""),
    ],
)
def test_anything_but_a_probe_is_ignored(datagram: bytes) -> None:
    assert parse_probe(datagram) is None


def test_matching_by_types_and_scopes() -> None:
    cam = SPEC.cameras[1]
    assert scopes(cam)[2] == "onvif://www.onvif.org/name/zal%202"

    def matches(types: str | None, scopes_xml: str = "") -> bool:
        probe = parse_probe(probe_xml("urn:uuid:x", types, scopes_xml))
        assert probe is not None
        return probe_matches(probe, cam)

    assert matches(None)
    assert matches("dn:NetworkVideoTransmitter")
    assert matches("tds:Device dn:NetworkVideoTransmitter")
    assert matches("undeclared:NetworkVideoTransmitter")  # lenient, as cameras are
    assert not matches("dn:Printer")
    assert not matches("tds:NetworkVideoTransmitter")
    location = "<d:Scopes>onvif://www.onvif.org/location/TST-02-0002</d:Scopes>"
    assert matches("dn:NetworkVideoTransmitter", location)
    assert matches(None, "<d:Scopes>onvif://www.onvif.org/hardware</d:Scopes>")
    assert not matches(None, "<d:Scopes>onvif://www.onvif.org/location/JZX-07-0123</d:Scopes>")
    assert not matches(None, "<d:Scopes>onvif://www.onvif.org/hard</d:Scopes>")
    exact = f'<d:Scopes MatchBy="{MATCH_STRCMP0}">onvif://www.onvif.org/hardware</d:Scopes>'
    assert not matches(None, exact)


async def _exchange(host: str, datagram: bytes, wait_s: float) -> list[bytes]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    replies: list[bytes] = []
    try:
        await loop.sock_sendto(sock, datagram, (host, PORT))
        deadline = loop.time() + wait_s
        while (left := deadline - loop.time()) > 0:
            try:
                data, _ = await asyncio.wait_for(loop.sock_recvfrom(sock, 65536), left)
            except TimeoutError:
                break
            replies.append(data)
    finally:
        sock.close()
    return replies


@pytest.mark.asyncio
async def test_unicast_probe_gets_one_probe_match_from_that_camera() -> None:
    responder = WsdResponder(SPEC.cameras, multicast=False)
    await responder.start()
    try:
        assert not responder.multicast_joined
        message_id = uuid.uuid4().urn
        first = await _exchange("127.0.22.91", probe_xml(message_id), 0.3)
        repeated = await _exchange("127.0.22.91", probe_xml(message_id), 0.3)
        other_type = await _exchange("127.0.22.91", probe_xml(uuid.uuid4().urn, "dn:Fax"), 0.3)
        no_onvif = await _exchange("127.0.22.92", probe_xml(uuid.uuid4().urn), 0.3)
    finally:
        await responder.stop()
    assert len(first) == 1
    assert repeated == []  # the same MessageID is a retransmission: answered once
    assert other_type == []
    assert no_onvif == []
    root = ET.fromstring(first[0])
    cam = SPEC.cameras[1]
    assert root.findtext(f"{{{S}}}Header/{{{A}}}Action") == f"{D}/ProbeMatches"
    assert root.findtext(f"{{{S}}}Header/{{{A}}}RelatesTo") == message_id
    match = root.find(f"{{{S}}}Body/{{{D}}}ProbeMatches/{{{D}}}ProbeMatch")
    assert match is not None
    assert match.findtext(f"{{{A}}}EndpointReference/{{{A}}}Address") == cam.endpoint_uuid
    assert match.findtext(f"{{{D}}}Types") == "dn:NetworkVideoTransmitter tds:Device"
    assert match.findtext(f"{{{D}}}XAddrs") == cam.xaddr
    assert (match.findtext(f"{{{D}}}Scopes") or "").split() == scopes(cam)
    assert match.findtext(f"{{{D}}}MetadataVersion") == "1"


@pytest.mark.asyncio
async def test_stop_closes_the_sockets() -> None:
    responder = WsdResponder(SPEC.cameras, multicast=False)
    await responder.start()
    await responder.stop()
    rebound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rebound.bind(("127.0.22.90", PORT))
    finally:
        rebound.close()
