"""Interrogation against simulated devices on loopback: optional calls, login limits, deadlines."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio

from discovery.errors import ClockSkew, DeviceError, NotAuthorized, Unreachable
from discovery.interrogate import InterrogationOptions, Login, interrogate
from discovery.model import Candidate, Outcome, Via
from sim.onvif.device import OnvifDevice
from sim.onvif.http import Request, Response
from sim.onvif.soap import action_not_supported, envelope, fault_element, render
from sim.spec import CameraSpec, parse_spec

CAMERAS = parse_spec(
    {
        "defaults": {"password": "Pw-7f3c-discovery"},
        "sites": [{"code": "TST", "cameras": [{"name": f"c{i}"} for i in range(4)]}],
    },
    host_base="127.0.24.11",
).cameras
OPTIONS = InterrogationOptions(call_timeout_s=1.0, max_auth_attempts=3)
RIGHT = Login(7, "admin", "Pw-7f3c-discovery")
WRONG = [Login(i, "admin", f"wrong-{i}") for i in range(5)]


class PickyDevice(OnvifDevice):
    """A device that lacks some operations and counts the calls it receives."""

    def __init__(self, camera: CameraSpec, missing: frozenset[str]) -> None:
        super().__init__(camera)
        self.missing = missing
        self.calls: Counter[str] = Counter()

    async def handle(self, request: Request) -> Response | None:
        """Answer ActionNotSupported for the missing operations, else as a normal device."""
        for operation in ("GetSystemDateAndTime", "GetDeviceInformation", *self.missing):
            if f"{operation}".encode() in request.body:
                self.calls[operation] += 1
        for operation in self.missing:
            if f":{operation}".encode() in request.body or f"<{operation}".encode() in request.body:
                fault = action_not_supported(operation)
                body = render(envelope(fault_element(fault)))
                return Response(fault.http_status, body, "application/soap+xml; charset=utf-8")
        return await super().handle(request)


@pytest_asyncio.fixture
async def devices() -> AsyncIterator[list[PickyDevice]]:
    """Start devices lacking, in turn: optional calls, the clock, nothing."""
    made = [
        PickyDevice(
            CAMERAS[0],
            frozenset({"GetServices", "GetNetworkInterfaces", "GetSnapshotUri"}),
        ),
        PickyDevice(CAMERAS[1], frozenset({"GetSystemDateAndTime"})),
        PickyDevice(CAMERAS[2], frozenset()),
    ]
    started = []
    try:
        for device in made:
            await device.start()
            started.append(device)
        yield made
    finally:
        for device in started:
            await device.stop()


def _candidate(camera: CameraSpec) -> Candidate:
    return Candidate(camera.host, camera.xaddr, Via.UNICAST, camera.endpoint_uuid)


@pytest.mark.asyncio
async def test_missing_optional_calls_leave_fields_empty(devices: list[PickyDevice]) -> None:
    facts = await interrogate(_candidate(CAMERAS[0]), [RIGHT], OPTIONS)
    assert facts.mac is None
    assert facts.snapshot_uri is None
    # No GetServices: the media service came from GetCapabilities.
    assert [p.stream_uri for p in facts.profiles] == [
        CAMERAS[0].stream_url("main"),
        CAMERAS[0].stream_url("sub"),
    ]
    assert (facts.credential_id, facts.username) == (7, "admin")


@pytest.mark.asyncio
async def test_credential_attempts_are_capped(devices: list[PickyDevice]) -> None:
    device = devices[2]
    with pytest.raises(NotAuthorized) as err:
        await interrogate(_candidate(device.camera), WRONG, OPTIONS)
    assert err.value.outcome is Outcome.AUTH_FAILED
    assert device.calls["GetDeviceInformation"] == OPTIONS.max_auth_attempts
    device.calls.clear()
    with pytest.raises(NotAuthorized) as none:
        await interrogate(_candidate(device.camera), [], OPTIONS)
    assert none.value.code == "no_credentials"
    device.calls.clear()
    facts = await interrogate(_candidate(device.camera), [WRONG[0], RIGHT], OPTIONS)
    assert facts.credential_id == RIGHT.credential_id
    assert device.calls["GetDeviceInformation"] == 2


@pytest.mark.asyncio
async def test_an_unreadable_clock_with_refused_logins_is_clock_skew(
    devices: list[PickyDevice],
) -> None:
    camera = devices[1].camera
    with pytest.raises(ClockSkew) as err:
        await interrogate(_candidate(camera), WRONG[:1], OPTIONS)
    assert err.value.outcome is Outcome.CLOCK_SKEW
    facts = await interrogate(_candidate(camera), [RIGHT], OPTIONS)
    assert facts.clock_skew_s is None


@pytest.mark.asyncio
async def test_nothing_listening_is_unreachable_at_once() -> None:
    camera = replace(CAMERAS[3], onvif_port=1)
    started = time.monotonic()
    with pytest.raises(Unreachable) as err:
        await interrogate(_candidate(camera), [RIGHT], OPTIONS)
    assert err.value.code == "connect_failed"
    assert time.monotonic() - started < 1.0


@pytest.mark.asyncio
async def test_a_trickling_device_is_cut_off_at_the_call_timeout() -> None:
    device = OnvifDevice(CAMERAS[3], behaviour="trickle")
    await device.start()
    try:
        started = time.monotonic()
        with pytest.raises(Unreachable) as err:
            await interrogate(_candidate(CAMERAS[3]), [RIGHT], OPTIONS)
        elapsed = time.monotonic() - started
    finally:
        await device.stop()
    assert err.value.code == "timeout"
    assert elapsed < OPTIONS.call_timeout_s + 1.0
    assert "Pw-7f3c" not in str(err.value)


async def _plain_server(host: str, reply: bytes) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(reply)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, host, 8080)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "outcome", "code"),
    [
        ("404 Not Found", Outcome.NOT_ONVIF, "http_status"),
        ("401 Unauthorized", Outcome.AUTH_FAILED, "http_auth"),
        ("200 OK", Outcome.NOT_ONVIF, "malformed_xml"),
    ],
)
async def test_plain_http_servers(status: str, outcome: Outcome, code: str) -> None:
    host = "127.0.24.30"
    reply = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nNot here."
    server = await _plain_server(host, reply.encode())
    try:
        candidate = Candidate(host, f"http://{host}:8080/onvif/device_service", Via.UNICAST)
        with pytest.raises(DeviceError) as err:
            await interrogate(candidate, [RIGHT], OPTIONS)
    finally:
        server.close()
        await server.wait_closed()
    assert (err.value.outcome, err.value.code) == (outcome, code)
