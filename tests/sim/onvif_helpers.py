"""Helpers shared by the simulator's ONVIF tests: cameras on 127.0.22.x and a client context."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from onvif import ONVIFCamera

from sim.onvif import OnvifDevice
from sim.spec import CameraSpec, parse_spec

TER = "http://www.onvif.org/ver10/error"
ENV = "http://www.w3.org/2003/05/soap-envelope"


def make_camera(host: str, **fields: Any) -> CameraSpec:
    """Return one simulated camera on the given loopback host."""
    cam = {"name": "cam1", **fields}
    spec = parse_spec({"sites": [{"code": "TST-01-0001", "cameras": [{**cam, "host": host}]}]})
    return spec.cameras[0]


@asynccontextmanager
async def running(camera: CameraSpec, **options: Any) -> AsyncIterator[OnvifDevice]:
    """Run one ONVIF device for the duration of the block."""
    device = OnvifDevice(camera, **options)
    await device.start()
    try:
        yield device
    finally:
        await device.stop()


@asynccontextmanager
async def client(
    camera: CameraSpec, password: str | None = None, *, adjust_time: bool = False
) -> AsyncIterator[ONVIFCamera]:
    """Yield an unmodified onvif-zeep-async client for the camera, closed afterwards."""
    cam = ONVIFCamera(
        camera.host,
        camera.onvif_port,
        camera.username,
        camera.password if password is None else password,
        no_cache=True,
        adjust_time=adjust_time,
    )
    try:
        yield cam
    finally:
        await cam.close()


def soap_request(operation: str, namespace: str, username: str, password: str) -> bytes:
    """Return a request envelope with a fresh PasswordDigest UsernameToken."""
    nonce = os.urandom(16)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(
        hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    ).decode()
    wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    profile = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{ENV}"><s:Header><wsse:Security xmlns:wsse="{wsse}" xmlns:wsu="{wsu}">
<wsse:UsernameToken><wsse:Username>{username}</wsse:Username>
<wsse:Password Type="{profile}#PasswordDigest">{digest}</wsse:Password>
<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>
<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>
<s:Body><x:{operation} xmlns:x="{namespace}"/></s:Body></s:Envelope>""".encode()
