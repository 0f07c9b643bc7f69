"""The simulated ONVIF device, exercised with the unmodified onvif-zeep-async client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import httpx
import numpy as np
import pytest
from zeep.exceptions import Fault

from sim.onvif.services import scopes
from tests.sim.onvif_helpers import ENV, TER, client, make_camera, running, soap_request

DEVICE_NS = "http://www.onvif.org/ver10/device/wsdl"
MEDIA_NS = "http://www.onvif.org/ver10/media/wsdl"


def _subcodes(fault: Fault) -> list[str]:
    return [q.localname for q in fault.subcodes or [] if q.namespace == TER]


@pytest.mark.asyncio
async def test_profile_s_calls_answer_the_onvif_client() -> None:
    cam = make_camera("127.0.22.1", manufacturer="Hikvision", model="DS-2CD2143", firmware="5.7")
    async with running(cam), client(cam) as onvif:
        await onvif.update_xaddrs()
        assert onvif.xaddrs[MEDIA_NS] == "http://127.0.22.1:8080/onvif/media_service"
        devicemgmt = await onvif.create_devicemgmt_service()
        info = await devicemgmt.GetDeviceInformation()
        assert (info.Manufacturer, info.Model, info.FirmwareVersion) == (
            "Hikvision",
            "DS-2CD2143",
            "5.7",
        )
        assert info.SerialNumber == cam.serial
        assert info.HardwareId == "DS-2CD2143"
        found = {s.ScopeItem for s in await devicemgmt.GetScopes()}
        assert found == set(scopes(cam))
        assert "onvif://www.onvif.org/location/TST-01-0001" in found
        interfaces = await devicemgmt.GetNetworkInterfaces()
        assert interfaces[0].Info.HwAddress == cam.mac
        assert interfaces[0].IPv4.Config.Manual[0].Address == "127.0.22.1"
        assert (await devicemgmt.GetHostname()).Name == "tst-01-0001-cam1"
        caps = await devicemgmt.GetCapabilities({"Category": "All"})
        assert caps.Device.XAddr == cam.xaddr
        assert caps.Media.XAddr.startswith("http://127.0.22.1:8080/")
        services = await devicemgmt.GetServices({"IncludeCapability": False})
        assert {s.Namespace for s in services} == {DEVICE_NS, MEDIA_NS}

        media = await onvif.create_media_service()
        profiles = await media.GetProfiles()
        assert [p.token for p in profiles] == ["main", "sub"]
        for profile, stream in zip(profiles, cam.streams, strict=True):
            encoder = profile.VideoEncoderConfiguration
            assert encoder.Encoding == "H264"
            assert (encoder.Resolution.Width, encoder.Resolution.Height) == (
                stream.width,
                stream.height,
            )
            assert encoder.RateControl.FrameRateLimit == stream.fps
        for token in ("main", "sub"):
            reply = await media.GetStreamUri(
                {
                    "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                    "ProfileToken": token,
                }
            )
            assert reply.Uri == cam.stream_url(token)
            assert "@" not in reply.Uri
        snapshot_uri = await onvif.get_snapshot_uri("main")
        assert snapshot_uri == "http://127.0.22.1:8080/onvif/snapshot/main.jpg"
        jpeg = await onvif.get_snapshot("main")
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (720, 1280, 3)


@pytest.mark.asyncio
async def test_clock_is_answered_without_authentication_and_includes_skew() -> None:
    cam = make_camera("127.0.22.2", clock_skew_s=3600)
    async with running(cam), client(cam, password="wrong") as onvif:
        devicemgmt = await onvif.create_devicemgmt_service()
        reply = await devicemgmt.GetSystemDateAndTime()
    d, t = reply.UTCDateTime.Date, reply.UTCDateTime.Time
    device_time = datetime(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, tzinfo=UTC)
    offset = device_time - datetime.now(UTC)
    assert timedelta(seconds=3590) < offset < timedelta(seconds=3610)


@pytest.mark.asyncio
async def test_wrong_password_is_a_not_authorized_fault() -> None:
    cam = make_camera("127.0.22.3")
    async with running(cam), client(cam, password="not-the-password") as onvif:
        devicemgmt = await onvif.create_devicemgmt_service()
        with pytest.raises(Fault) as caught:
            await devicemgmt.GetDeviceInformation()
        with pytest.raises(Fault):
            await onvif.update_xaddrs()
    assert caught.value.code == f"{{{ENV}}}Sender" or caught.value.code.endswith("Sender")
    assert _subcodes(caught.value) == ["NotAuthorized"]
    assert "not-the-password" not in str(caught.value)


@pytest.mark.asyncio
async def test_skew_beyond_the_window_fails_until_the_client_compensates() -> None:
    cam = make_camera("127.0.22.4", clock_skew_s=3600)
    async with running(cam):
        async with client(cam) as plain:
            devicemgmt = await plain.create_devicemgmt_service()
            with pytest.raises(Fault) as caught:
                await devicemgmt.GetDeviceInformation()
            assert _subcodes(caught.value) == ["NotAuthorized"]
        async with client(cam, adjust_time=True) as adjusted:
            await adjusted.update_xaddrs()
            devicemgmt = await adjusted.create_devicemgmt_service()
            info = await devicemgmt.GetDeviceInformation()
            assert info.SerialNumber == cam.serial
            media = await adjusted.create_media_service()
            assert len(await media.GetProfiles()) == 2


@pytest.mark.asyncio
async def test_skew_inside_the_window_is_accepted() -> None:
    cam = make_camera("127.0.22.5", clock_skew_s=-120)
    async with running(cam), client(cam) as onvif:
        devicemgmt = await onvif.create_devicemgmt_service()
        assert (await devicemgmt.GetDeviceInformation()).Model == cam.model


@pytest.mark.asyncio
async def test_unknown_action_and_unknown_profile_are_typed_faults() -> None:
    cam = make_camera("127.0.22.6")
    async with running(cam), client(cam) as onvif:
        await onvif.update_xaddrs()
        devicemgmt = await onvif.create_devicemgmt_service()
        with pytest.raises(Fault) as unsupported:
            await devicemgmt.GetNTP()
        media = await onvif.create_media_service()
        with pytest.raises(Fault) as no_profile:
            await media.GetStreamUri(
                {
                    "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                    "ProfileToken": "third",
                }
            )
    assert unsupported.value.code.endswith("Receiver")
    assert _subcodes(unsupported.value) == ["ActionNotSupported"]
    assert no_profile.value.code.endswith("Sender")
    assert _subcodes(no_profile.value) == ["InvalidArgVal", "NoProfile"]


@pytest.mark.asyncio
async def test_replayed_nonce_is_refused() -> None:
    cam = make_camera("127.0.22.7")
    body = soap_request("GetDeviceInformation", DEVICE_NS, cam.username, cam.password)
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    async with running(cam), httpx.AsyncClient(timeout=5) as http:
        first = await http.post(cam.xaddr, content=body, headers=headers)
        replay = await http.post(cam.xaddr, content=body, headers=headers)
    assert first.status_code == 200
    assert b"GetDeviceInformationResponse" in first.content
    assert replay.status_code == 400
    assert b"ter:NotAuthorized" in replay.content


@pytest.mark.asyncio
async def test_operation_on_the_wrong_service_is_not_supported() -> None:
    cam = make_camera("127.0.22.8")
    body = soap_request("GetProfiles", MEDIA_NS, cam.username, cam.password)
    async with running(cam), httpx.AsyncClient(timeout=5) as http:
        reply = await http.post(cam.xaddr, content=body)
    assert reply.status_code == 500
    assert b"ter:ActionNotSupported" in reply.content


@pytest.mark.asyncio
async def test_hostile_request_xml_is_refused_without_expansion() -> None:
    cam = make_camera("127.0.22.9")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&b;</s:Body>'
        b"</s:Envelope>"
    )
    async with running(cam), httpx.AsyncClient(timeout=5) as http:
        replies = [
            await http.post(cam.xaddr, content=payload)
            for payload in (bomb, b"<not xml", b"<a>not soap</a>")
        ]
    for reply in replies:
        assert reply.status_code == 400
        assert b"ter:WellFormed" in reply.content
        assert b"aaaaaaaaaa" not in reply.content


@pytest.mark.asyncio
async def test_snapshot_needs_digest_or_basic_credentials() -> None:
    cam = make_camera("127.0.22.10", feed="black")
    url = f"http://{cam.host}:{cam.onvif_port}/onvif/snapshot/sub.jpg"
    async with running(cam), httpx.AsyncClient(timeout=10) as http:
        anonymous = await http.get(url)
        digest = await http.get(url, auth=httpx.DigestAuth(cam.username, cam.password))
        basic = await http.get(url, auth=httpx.BasicAuth(cam.username, cam.password))
        wrong = await http.get(url, auth=httpx.DigestAuth(cam.username, "nope"))
        missing = await http.get(url.replace("sub.jpg", "third.jpg"))
    assert anonymous.status_code == 401
    assert anonymous.headers.get_list("www-authenticate")[0].startswith("Digest ")
    assert wrong.status_code == 401
    assert missing.status_code == 404
    for reply in (digest, basic):
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "image/jpeg"
        picture = cv2.imdecode(np.frombuffer(reply.content, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (360, 640, 3)
        assert picture.mean() < 10  # the black feed's picture
