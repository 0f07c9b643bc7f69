"""WS-Discovery client: build Probes, parse ProbeMatches (untrusted), collect replies over UDP."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from discovery.model import ProbeMatch

MULTICAST_GROUP = "239.255.255.250"
PORT = 3702
# A ProbeMatch fits one datagram; anything larger is not a reply we read.
MAX_DATAGRAM = 65_507
# WS-Discovery (SOAP-over-UDP) advises repeating a multicast message with a random delay
# between UDP_MIN_DELAY and UDP_MAX_DELAY, doubling up to UDP_UPPER_DELAY.
REPEATS = 3
UDP_MIN_DELAY_S = 0.05
UDP_MAX_DELAY_S = 0.25
UDP_UPPER_DELAY_S = 0.5
# Limits on what one reply may carry.
MAX_XADDRS = 8
MAX_SCOPES = 64
MAX_FIELD = 2048

_PROBE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
    ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"'
    ' xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
    "<s:Header>"
    "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>"
    "<a:MessageID>{message_id}</a:MessageID>"
    "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
    "</s:Header>"
    "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>"
    "</s:Envelope>"
)


def new_message_id() -> str:
    """Return a fresh urn:uuid MessageID."""
    return uuid.uuid4().urn


def probe_message(message_id: str) -> bytes:
    """Return a Probe for ONVIF network video transmitters."""
    return _PROBE.format(message_id=message_id).encode("utf-8")


def _local(tag: str) -> str:
    # Devices differ in prefixes and even in namespace versions: match on local names.
    return tag.rsplit("}", 1)[-1]


def _child(parent: Element, name: str) -> Element | None:
    for child in parent:
        if _local(child.tag) == name:
            return child
    return None


def _path(parent: Element, *names: str) -> Element | None:
    node: Element | None = parent
    for name in names:
        if node is None:
            return None
        node = _child(node, name)
    return node


def _text(node: Element | None) -> str:
    return " ".join((node.text or "").split())[:MAX_FIELD] if node is not None else ""


@dataclass(frozen=True)
class Reply:
    """A parsed ProbeMatches datagram: what it relates to and its matches."""

    relates_to: str
    matches: tuple[ProbeMatch, ...] = field(default_factory=tuple)


def parse_probe_matches(datagram: bytes) -> Reply | None:
    """Return the ProbeMatches a datagram carries, or None for anything else or hostile XML."""
    if len(datagram) > MAX_DATAGRAM:
        return None
    try:
        root = SafeET.fromstring(
            datagram, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except (DefusedXmlException, SafeET.ParseError, ValueError, RecursionError):
        return None
    if _local(root.tag) != "Envelope":
        return None
    body = _child(root, "Body")
    matches_el = _child(body, "ProbeMatches") if body is not None else None
    if matches_el is None:
        return None
    relates_to = _text(_path(root, "Header", "RelatesTo"))
    matches = []
    for match in matches_el:
        if _local(match.tag) != "ProbeMatch":
            continue
        parsed = _parse_match(match)
        if parsed is not None:
            matches.append(parsed)
    return Reply(relates_to=relates_to, matches=tuple(matches))


def _parse_match(match: Element) -> ProbeMatch | None:
    endpoint = _text(_path(match, "EndpointReference", "Address"))
    xaddrs = tuple(_text(_child(match, "XAddrs")).split()[:MAX_XADDRS])
    if not endpoint and not xaddrs:
        return None
    version_text = _text(_child(match, "MetadataVersion"))
    return ProbeMatch(
        endpoint=endpoint,
        xaddrs=xaddrs,
        types=tuple(_text(_child(match, "Types")).split()[:MAX_SCOPES]),
        scopes=tuple(_text(_child(match, "Scopes")).split()[:MAX_SCOPES]),
        metadata_version=int(version_text) if version_text.isdigit() else None,
    )


@dataclass(frozen=True)
class Heard:
    """A ProbeMatch and the address it came from."""

    source: str
    match: ProbeMatch


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str, limit: int, expected: frozenset[str]) -> None:
        self.message_id = message_id
        self.heard: list[Heard] = []
        self._limit = limit
        # Set once every expected source has answered (unicast probes only).
        self.complete = asyncio.Event()
        self._waiting = set(expected)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        source = addr[0]
        if not isinstance(source, str) or len(self.heard) >= self._limit:
            return
        reply = parse_probe_matches(data)
        # A reply to someone else's probe (or a stray Hello) is not ours to count.
        if reply is None or reply.relates_to != self.message_id:
            return
        self.heard.extend(Heard(source, m) for m in reply.matches)
        if self._waiting:
            self._waiting.discard(source)
            if not self._waiting:
                self.complete.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP port-unreachable from a host without a WS-Discovery listener: not an error here.
        pass


def _multicast_socket(interface: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        if interface:
            index = socket.if_nametoindex(interface)
            # struct ip_mreqn: group (unused), local address (any), interface index.
            mreqn = struct.pack("=4s4si", bytes(4), bytes(4), index)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - replies come back to this ephemeral port
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _delays(repeats: int) -> list[float]:
    delays, delay = [], random.uniform(UDP_MIN_DELAY_S, UDP_MAX_DELAY_S)
    for _ in range(repeats - 1):
        delays.append(delay)
        delay = min(delay * 2, UDP_UPPER_DELAY_S)
    return delays


async def probe(
    targets: Iterable[tuple[str, int]],
    *,
    timeout_s: float,
    interface: str | None = None,
    repeats: int = REPEATS,
    max_replies: int = 4096,
    expected: frozenset[str] = frozenset(),
) -> list[Heard]:
    """Send a Probe to each target repeatedly with jitter and collect matches for timeout_s.

    With ``expected`` sources, collection ends early once each of them has answered.
    """
    destinations = list(targets)
    message_id = new_message_id()
    data = probe_message(message_id)
    loop = asyncio.get_running_loop()
    sock = _multicast_socket(interface)
    transport, collector = await loop.create_datagram_endpoint(
        lambda: _Collector(message_id, max_replies, expected), sock=sock
    )
    deadline = loop.time() + timeout_s
    try:
        for delay in [0.0, *_delays(repeats)]:
            if delay:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(delay, max(0.0, deadline - loop.time()))):
                        await collector.complete.wait()
            if collector.complete.is_set():
                break
            for destination in destinations:
                with contextlib.suppress(OSError):
                    # A host with no route answers ENETUNREACH; the others still get probed.
                    transport.sendto(data, destination)
                # Yield now and then so a sweep does not starve the reading side.
                await asyncio.sleep(0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                await collector.complete.wait()
    finally:
        transport.close()
    return collector.heard


async def probe_multicast(
    *, timeout_s: float, interface: str | None = None, repeats: int = REPEATS
) -> list[Heard]:
    """Probe the WS-Discovery multicast group (on one interface) and collect the matches."""
    return await probe(
        [(MULTICAST_GROUP, PORT)], timeout_s=timeout_s, interface=interface, repeats=repeats
    )


async def probe_hosts(
    hosts: Iterable[str], *, timeout_s: float, repeats: int = REPEATS, wait_all: bool = False
) -> list[Heard]:
    """Probe each host's WS-Discovery port directly and collect the matches.

    With ``wait_all`` the collection ends as soon as every host has answered.
    """
    targets = list(dict.fromkeys(hosts))
    return await probe(
        [(h, PORT) for h in targets],
        timeout_s=timeout_s,
        repeats=repeats,
        expected=frozenset(targets) if wait_all else frozenset(),
    )
