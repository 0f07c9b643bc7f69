"""WS-Discovery (2005/04, as ONVIF uses it) target service for the simulated cameras."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element as XmlElement

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from sim.onvif.services import scopes as camera_scopes
from sim.onvif.xmlwrite import Element, el, serialize
from sim.spec import CameraSpec

MULTICAST_GROUP = "239.255.255.250"
PORT = 3702
# WS-Discovery's APP_MAX_DELAY: a target waits a random time up to this before answering.
APP_MAX_DELAY_S = 0.5

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
WSD_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
ACTION_PROBE = f"{WSD}/Probe"
ACTION_PROBE_MATCHES = f"{WSD}/ProbeMatches"
ACTION_HELLO = f"{WSD}/Hello"
ACTION_BYE = f"{WSD}/Bye"
MATCH_RFC3986 = f"{WSD}/rfc3986"
MATCH_STRCMP0 = f"{WSD}/strcmp0"

DEVICE_TYPES = frozenset({(DN, "NetworkVideoTransmitter"), (TDS, "Device")})
_NAMESPACES = {"s": SOAP_ENV, "a": WSA, "d": WSD, "dn": DN, "tds": TDS}
_MAX_DATAGRAM = 65536
# Replies waiting out their random delay; a probe flood beyond this is dropped.
_MAX_PENDING = 4096

# Builds a Hello or Bye datagram from camera, AppSequence InstanceId and MessageNumber.
Announcement = Callable[[CameraSpec, int, int], bytes]


@dataclass(frozen=True)
class Probe:
    """A parsed Probe: its MessageID and the Types and Scopes it asks for."""

    message_id: str
    types: tuple[tuple[str, str], ...]
    scopes: tuple[str, ...]
    match_by: str


def parse_probe(datagram: bytes) -> Probe | None:
    """Return the Probe a datagram carries, or None for anything else or anything malformed."""
    prefixes: dict[str, set[str]] = {}
    try:
        events = SafeET.iterparse(io.BytesIO(datagram), events=("start-ns", "end"), forbid_dtd=True)
        root: XmlElement | None = None
        for event, item in events:
            if event == "start-ns":
                prefix, uri = cast(tuple[str, str], item)
                prefixes.setdefault(prefix, set()).add(uri)
            else:
                root = item
    except (DefusedXmlException, SafeET.ParseError):
        return None
    if root is None or root.tag != f"{{{SOAP_ENV}}}Envelope":
        return None
    action = root.findtext(f"{{{SOAP_ENV}}}Header/{{{WSA}}}Action", "").strip()
    probe = root.find(f"{{{SOAP_ENV}}}Body/{{{WSD}}}Probe")
    if probe is None or (action and action != ACTION_PROBE):
        return None
    message_id = root.findtext(f"{{{SOAP_ENV}}}Header/{{{WSA}}}MessageID", "").strip()
    if not message_id:
        return None
    types_text = probe.findtext(f"{{{WSD}}}Types", "")
    scopes_el = probe.find(f"{{{WSD}}}Scopes")
    scopes = tuple((scopes_el.text or "").split()) if scopes_el is not None else ()
    match_by = scopes_el.get("MatchBy", MATCH_RFC3986) if scopes_el is not None else MATCH_RFC3986
    return Probe(
        message_id=message_id,
        types=tuple(_qnames(types_text, prefixes)),
        scopes=scopes,
        match_by=match_by,
    )


def _qnames(text: str, prefixes: dict[str, set[str]]) -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    for token in text.split():
        prefix, sep, local = token.rpartition(":")
        # Prefix scoping is flattened: a prefix declared with several URIs matches any of them.
        uris = prefixes.get(prefix if sep else "", set())
        if len(uris) == 1:
            names.append((next(iter(uris)), local))
        else:
            names.append(("", local) if not uris else (_pick(uris, local), local))
    return names


def _pick(uris: set[str], local: str) -> str:
    for uri in uris:
        if (uri, local) in DEVICE_TYPES:
            return uri
    return sorted(uris)[0]


def _scope_matches(wanted: str, offered: str, match_by: str) -> bool:
    if match_by == MATCH_STRCMP0:
        return wanted == offered
    if match_by != MATCH_RFC3986:
        return False
    w, o = urlsplit(wanted), urlsplit(offered)
    if (w.scheme.lower(), w.netloc.lower()) != (o.scheme.lower(), o.netloc.lower()):
        return False
    w_segments = [s for s in w.path.split("/") if s]
    o_segments = [s for s in o.path.split("/") if s]
    return o_segments[: len(w_segments)] == w_segments


def probe_matches(probe: Probe, camera: CameraSpec) -> bool:
    """Return True if a camera answers the probe (every type known, every scope matched)."""
    for namespace, local in probe.types:
        # An unresolvable prefix is compared by local name only, as lenient devices do.
        if namespace and (namespace, local) not in DEVICE_TYPES:
            return False
        if not namespace and local not in {name for _, name in DEVICE_TYPES}:
            return False
    offered = camera_scopes(camera)
    return all(any(_scope_matches(w, o, probe.match_by) for o in offered) for w in probe.scopes)


def _envelope(header: list[Element], body: Element) -> bytes:
    attrs = {f"xmlns:{prefix}": uri for prefix, uri in _NAMESPACES.items()}
    doc = el("s:Envelope", el("s:Header", *header), el("s:Body", body), attrs=attrs)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + serialize(doc)).encode("utf-8")


def _header(action: str, to: str, instance_id: int, number: int) -> list[Element]:
    return [
        el("a:Action", action),
        el("a:MessageID", uuid.uuid4().urn),
        el("a:To", to),
        el("d:AppSequence", attrs={"InstanceId": str(instance_id), "MessageNumber": str(number)}),
    ]


def _description(camera: CameraSpec, metadata_version: int) -> tuple[Element, ...]:
    return (
        el("a:EndpointReference", el("a:Address", camera.endpoint_uuid)),
        el("d:Types", "dn:NetworkVideoTransmitter tds:Device"),
        el("d:Scopes", " ".join(camera_scopes(camera))),
        el("d:XAddrs", camera.xaddr),
        el("d:MetadataVersion", str(metadata_version)),
    )


def probe_matches_message(
    camera: CameraSpec, relates_to: str, instance_id: int, number: int, metadata_version: int = 1
) -> bytes:
    """Return the ProbeMatches datagram a camera sends in answer to a probe."""
    header = _header(ACTION_PROBE_MATCHES, ANONYMOUS, instance_id, number)
    header.insert(2, el("a:RelatesTo", relates_to))
    body = el("d:ProbeMatches", el("d:ProbeMatch", *_description(camera, metadata_version)))
    return _envelope(header, body)


def hello_message(
    camera: CameraSpec, instance_id: int, number: int, metadata_version: int = 1
) -> bytes:
    """Return the Hello datagram a camera multicasts when it joins the network."""
    header = _header(ACTION_HELLO, WSD_TO, instance_id, number)
    return _envelope(header, el("d:Hello", *_description(camera, metadata_version)))


def bye_message(camera: CameraSpec, instance_id: int, number: int) -> bytes:
    """Return the Bye datagram a camera multicasts when it leaves the network."""
    header = _header(ACTION_BYE, WSD_TO, instance_id, number)
    body = el("d:Bye", el("a:EndpointReference", el("a:Address", camera.endpoint_uuid)))
    return _envelope(header, body)


class _Target:
    """One camera's discovery endpoint: its socket, sequence numbers and seen probes."""

    def __init__(self, camera: CameraSpec, instance_id: int) -> None:
        self.camera = camera
        self.instance_id = instance_id
        self.transport: asyncio.DatagramTransport | None = None
        self._number = 0
        self._seen: deque[str] = deque(maxlen=256)

    def next_number(self) -> int:
        """Return the next AppSequence MessageNumber."""
        self._number += 1
        return self._number

    def first_sight(self, message_id: str) -> bool:
        """Return True the first time a MessageID is seen (probes are sent repeatedly)."""
        if message_id in self._seen:
            return False
        self._seen.append(message_id)
        return True

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        """Send one datagram from this camera's own address."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, responder: WsdResponder, target: _Target | None) -> None:
        self._responder = responder
        self._target = target

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        host, port = addr[0], addr[1]
        if isinstance(host, str):
            self._responder.on_datagram(data, (host, port), self._target)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors from a prober that went away are normal on UDP; nothing to do.
        pass


class WsdResponder:
    """Answer Probes for a set of cameras; multicast (and Hello/Bye) only inside a netns."""

    def __init__(
        self,
        cameras: Sequence[CameraSpec],
        *,
        multicast: bool,
        max_delay_s: float = APP_MAX_DELAY_S,
        port: int = PORT,
        repeat: int = 2,
    ) -> None:
        instance_id = int(time.time())
        self._targets = [_Target(c, instance_id) for c in cameras if c.onvif]
        self._multicast = multicast
        self._max_delay = max_delay_s
        self._port = port
        self._repeat = repeat
        self._group: asyncio.DatagramTransport | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def multicast_joined(self) -> bool:
        """Return True while the responder is a member of the WS-Discovery multicast group."""
        return self._group is not None

    async def start(self) -> None:
        """Bind every camera's unicast socket (and the group socket), then announce with Hello."""
        loop = asyncio.get_running_loop()
        try:
            for target in self._targets:
                sock = self._unicast_socket(target.camera.host)
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(_Listener, self, target), sock=sock
                )
                target.transport = transport
            if self._multicast and self._targets:
                sock = self._group_socket([t.camera.host for t in self._targets])
                self._group, _ = await loop.create_datagram_endpoint(
                    lambda: _Listener(self, None), sock=sock
                )
        except BaseException:
            await self.stop(announce=False)
            raise
        if self._multicast:
            for target in self._targets:
                self._announce(target, hello_message)

    async def stop(self, *, announce: bool = True) -> None:
        """Say Bye (inside a netns), cancel pending replies and close every socket."""
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._multicast and announce:
            for target in self._targets:
                self._announce(target, bye_message)
        closing = [t.transport for t in self._targets if t.transport is not None]
        if self._group is not None:
            closing.append(self._group)
        for transport in closing:
            transport.close()
        for target in self._targets:
            target.transport = None
        self._group = None
        # Let the transports flush their last datagrams (the Byes) and close.
        await asyncio.sleep(0)

    def _announce(self, target: _Target, build: Announcement) -> None:
        data = build(target.camera, target.instance_id, target.next_number())
        for _ in range(self._repeat):
            target.send(data, (MULTICAST_GROUP, self._port))

    def _unicast_socket(self, host: str) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self._port))
            if self._multicast:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(host))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _group_socket(self, hosts: list[str]) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((MULTICAST_GROUP, self._port))
            for host in dict.fromkeys(hosts):
                mreq = socket.inet_aton(MULTICAST_GROUP) + socket.inet_aton(host)
                # Cameras sharing one interface share one membership; the kernel refuses a second.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def on_datagram(self, data: bytes, addr: tuple[str, int], target: _Target | None) -> None:
        """Answer a Probe: at once if unicast to one camera, after a random delay if multicast."""
        if len(data) > _MAX_DATAGRAM:
            return
        probe = parse_probe(data)
        if probe is None:
            return
        if target is not None:
            if self._answers(target, probe):
                self._reply(target, probe, addr)
            return
        for each in self._targets:
            if not self._answers(each, probe) or len(self._pending) >= _MAX_PENDING:
                continue
            task = asyncio.create_task(self._reply_later(each, probe, addr))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _reply_later(self, target: _Target, probe: Probe, addr: tuple[str, int]) -> None:
        # Targets spread their answers so a probe does not draw a burst of replies at once.
        await asyncio.sleep(random.uniform(0.0, self._max_delay))
        self._reply(target, probe, addr)

    @staticmethod
    def _answers(target: _Target, probe: Probe) -> bool:
        return probe_matches(probe, target.camera) and target.first_sight(probe.message_id)

    def _reply(self, target: _Target, probe: Probe, addr: tuple[str, int]) -> None:
        data = probe_matches_message(
            target.camera, probe.message_id, target.instance_id, target.next_number()
        )
        target.send(data, addr)
