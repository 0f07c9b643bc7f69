"""WS-Discovery: Probes the simulator's responder understands, and ProbeMatches as they vary."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from discovery import wsd
from discovery.model import scope_value
from sim import wsd as sim_wsd
from sim.spec import parse_spec

CAMERA = parse_spec(
    {"sites": [{"code": "TST-01-0001", "cameras": [{"name": "Kirish eshigi"}]}]},
    host_base="127.0.24.1",
).cameras[0]


def test_probe_is_understood_by_the_responder() -> None:
    message_id = wsd.new_message_id()
    probe = sim_wsd.parse_probe(wsd.probe_message(message_id))
    assert probe is not None
    assert probe.message_id == message_id
    assert sim_wsd.probe_matches(probe, CAMERA)


def test_parses_the_responders_probe_matches() -> None:
    data = sim_wsd.probe_matches_message(CAMERA, "urn:uuid:1234", 1, 1)
    reply = wsd.parse_probe_matches(data)
    assert reply is not None
    assert reply.relates_to == "urn:uuid:1234"
    (match,) = reply.matches
    assert match.endpoint == CAMERA.endpoint_uuid
    assert match.xaddrs == (CAMERA.xaddr,)
    assert "dn:NetworkVideoTransmitter" in match.types
    assert match.scope_name == "Kirish eshigi"
    assert match.scope_hardware == CAMERA.model
    assert match.scope_location == "TST-01-0001"
    assert match.metadata_version == 1


FIELD_VARIANT = b"""<?xml version="1.0"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
  xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"
  xmlns:wsdd="http://schemas.xmlsoap.org/ws/2005/04/discovery">
 <SOAP-ENV:Header>
  <wsa:RelatesTo>
     urn:uuid:abcd
  </wsa:RelatesTo>
 </SOAP-ENV:Header>
 <SOAP-ENV:Body>
  <wsdd:ProbeMatches>
   <wsdd:ProbeMatch>
    <wsa:EndpointReference><wsa:Address>urn:uuid:0001</wsa:Address></wsa:EndpointReference>
    <wsdd:XAddrs>
        http://10.0.0.5/onvif/device_service\t http://[fe80::1]/onvif/device_service
    </wsdd:XAddrs>
    <wsdd:MetadataVersion>not a number</wsdd:MetadataVersion>
   </wsdd:ProbeMatch>
   <wsdd:ProbeMatch>
    <wsdd:XAddrs>http://10.0.0.6/onvif/device_service</wsdd:XAddrs>
   </wsdd:ProbeMatch>
   <wsdd:ProbeMatch/>
  </wsdd:ProbeMatches>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""


def test_tolerates_prefixes_whitespace_and_missing_parts() -> None:
    reply = wsd.parse_probe_matches(FIELD_VARIANT)
    assert reply is not None
    assert reply.relates_to == "urn:uuid:abcd"
    first, second = reply.matches
    assert first.endpoint == "urn:uuid:0001"
    assert first.xaddrs == (
        "http://10.0.0.5/onvif/device_service",
        "http://[fe80::1]/onvif/device_service",
    )
    assert (first.types, first.scopes, first.metadata_version) == ((), (), None)
    assert second.endpoint == ""
    assert second.xaddrs == ("http://10.0.0.6/onvif/device_service",)


def test_accepts_the_2009_namespace_and_soap_11() -> None:
    data = (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:d="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01"'
        b' xmlns:a="http://www.w3.org/2005/08/addressing"><e:Header>'
        b"<a:RelatesTo>urn:uuid:9</a:RelatesTo></e:Header><e:Body><d:ProbeMatches>"
        b"<d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:7</a:Address>"
        b"</a:EndpointReference><d:XAddrs>http://10.0.0.9:8000/onvif/device_service</d:XAddrs>"
        b"</d:ProbeMatch></d:ProbeMatches></e:Body></e:Envelope>"
    )
    reply = wsd.parse_probe_matches(data)
    assert reply is not None
    assert reply.matches[0].endpoint == "urn:uuid:7"


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
<d:ProbeMatches xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">
<d:ProbeMatch><d:XAddrs>&lol2;</d:XAddrs></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
<d:ProbeMatches xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">
<d:ProbeMatch><d:XAddrs>&xxe;</d:XAddrs></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"""

DTD_ONLY = b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://203.0.113.7/x.dtd"><x/>'


def test_rejects_hostile_xml_without_crashing() -> None:
    huge = FIELD_VARIANT.replace(b"urn:uuid:0001", b"u" * (wsd.MAX_DATAGRAM + 1))
    deep = b"<a>" * 20_000 + b"</a>" * 20_000
    for data in (BOMB, XXE, DTD_ONLY, huge, deep, b"", b"\xff\xfe<", FIELD_VARIANT[:300]):
        assert wsd.parse_probe_matches(data) is None


def test_ignores_other_messages() -> None:
    hello = sim_wsd.hello_message(CAMERA, 1, 1)
    assert wsd.parse_probe_matches(hello) is None
    assert wsd.parse_probe_matches(wsd.probe_message("urn:uuid:1")) is None


def test_limits_what_one_reply_may_carry() -> None:
    xaddrs = " ".join(f"http://10.0.0.{i}/" for i in range(50))
    data = FIELD_VARIANT.replace(b"http://10.0.0.6/onvif/device_service", xaddrs.encode())
    reply = wsd.parse_probe_matches(data)
    assert reply is not None
    assert len(reply.matches[1].xaddrs) == wsd.MAX_XADDRS


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_datagrams_never_raise(data: bytes) -> None:
    wsd.parse_probe_matches(data)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_in_fields_never_raises(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8", "replace")
    wsd.parse_probe_matches(FIELD_VARIANT.replace(b"urn:uuid:0001", escaped))


def test_scope_values_are_decoded() -> None:
    scopes = (
        "onvif://www.onvif.org/type/video_encoder",
        "onvif://www.onvif.org/name/Kirish%20eshigi",
        "ONVIF://www.onvif.org/location/JZX-07-0123/",
    )
    assert scope_value(scopes, "name") == "Kirish eshigi"
    assert scope_value(scopes, "location") == "JZX-07-0123"
    assert scope_value(scopes, "hardware") is None
