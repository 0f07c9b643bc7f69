"""One simulated ONVIF camera: its HTTP server, SOAP dispatch, authentication and snapshots."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sim.onvif import hostile
from sim.onvif.http import HttpServer, Request, Response, plain_response
from sim.onvif.httpauth import HttpCredentialChecker
from sim.onvif.services import (
    SERVICES,
    SNAPSHOT_PREFIX,
    UNAUTHENTICATED,
    DeviceContext,
)
from sim.onvif.snapshot import snapshot_jpeg
from sim.onvif.soap import (
    SoapFault,
    SoapRequest,
    action_not_supported,
    envelope,
    fault_element,
    not_authorized,
    parse_request,
    render,
)
from sim.onvif.wsse import AuthPolicy, NonceCache, extract_token, verify_token
from sim.onvif.xmlwrite import Element
from sim.spec import CameraSpec

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OnvifDevice:
    """Serve the device service, media service and snapshots of one camera on its own host."""

    def __init__(
        self,
        camera: CameraSpec,
        *,
        behaviour: str | None = None,
        policy: AuthPolicy | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        if behaviour is not None and behaviour not in hostile.BEHAVIOURS:
            known = ", ".join(sorted(hostile.BEHAVIOURS))
            raise ValueError(f"unknown behaviour {behaviour!r}; known: {known}")
        self.camera = camera
        self.behaviour = behaviour
        self._policy = policy or AuthPolicy()
        self._clock = clock
        self._nonces = NonceCache()
        self._http_auth = HttpCredentialChecker(camera.username, camera.password)
        self._started = time.monotonic()
        self._server = HttpServer(camera.host, camera.onvif_port, self.handle)

    @property
    def xaddr(self) -> str:
        """Return the device service address."""
        return self.camera.xaddr

    def device_now(self) -> datetime:
        """Return the device's clock: real UTC time plus the camera's configured skew."""
        return self._clock() + timedelta(seconds=self.camera.clock_skew_s)

    async def start(self) -> None:
        """Start listening on the camera's host and ONVIF port."""
        self._started = time.monotonic()
        await self._server.start()

    async def stop(self) -> None:
        """Stop listening and drop open connections."""
        await self._server.stop()

    async def handle(self, request: Request) -> Response | None:
        """Answer one HTTP request."""
        if self.behaviour in hostile.TRANSPORT_BEHAVIOURS:
            return await hostile.transport_reply(self.behaviour or "", request.path)
        response = await self._route(request)
        if self.behaviour == "trickle" and response is not None:
            return hostile.trickle(response)
        return response

    async def _route(self, request: Request) -> Response | None:
        path = request.path
        if path in SERVICES:
            if request.method != "POST":
                return _method_not_allowed("POST")
            return self._soap(path, request.body)
        if path.startswith(SNAPSHOT_PREFIX) and path.endswith(".jpg"):
            if request.method != "GET":
                return _method_not_allowed("GET")
            return await self._snapshot(request, path[len(SNAPSHOT_PREFIX) : -len(".jpg")])
        return plain_response(404)

    def _soap(self, path: str, body: bytes) -> Response:
        namespace, operations = SERVICES[path]
        try:
            soap = parse_request(body)
            operation = operations.get(soap.action) if soap.namespace == namespace else None
            if operation is None:
                raise action_not_supported(soap.action)
            ctx = DeviceContext(
                camera=self.camera,
                now=self.device_now(),
                foreign_xaddrs=self.behaviour == "foreign_xaddrs",
                foreign_stream_uri=self.behaviour == "foreign_stream_uri",
            )
            if self.behaviour in hostile.BODY_BEHAVIOURS:
                # A hostile device sends its payload whoever asks, before any authentication.
                return hostile.hostile_soap_reply(
                    self.behaviour or "", operation(ctx, soap.operation)
                )
            self._authenticate(soap, ctx.now)
            return _soap_response(200, operation(ctx, soap.operation))
        except SoapFault as fault:
            return _soap_response(fault.http_status, fault_element(fault))

    def _authenticate(self, soap: SoapRequest, now: datetime) -> None:
        if soap.action in UNAUTHENTICATED:
            return
        problem = verify_token(
            extract_token(soap.header),
            username=self.camera.username,
            password=self.camera.password,
            device_now=now,
            policy=self._policy,
            nonces=self._nonces,
        )
        if problem is not None:
            raise not_authorized()

    async def _snapshot(self, request: Request, token: str) -> Response:
        stream = next((s for s in self.camera.streams if s.token == token), None)
        if stream is None:
            return plain_response(404)
        verdict = self._http_auth.check(
            request.method, request.target, request.headers.get("authorization")
        )
        if verdict is not True:
            challenges = self._http_auth.challenges(stale=verdict is None)
            response = plain_response(401)
            response.headers.extend(("WWW-Authenticate", value) for value in challenges)
            return response
        t = time.monotonic() - self._started
        jpeg = await asyncio.to_thread(snapshot_jpeg, self.camera, stream, t)
        return Response(status=200, body=jpeg, content_type="image/jpeg")


def _soap_response(status: int, body: Element) -> Response:
    return Response(
        status=status,
        body=render(envelope(body)),
        content_type=hostile.SOAP_CONTENT_TYPE,
    )


def _method_not_allowed(allowed: str) -> Response:
    response = plain_response(405)
    response.headers.append(("Allow", allowed))
    return response
