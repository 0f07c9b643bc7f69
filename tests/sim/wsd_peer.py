"""A WS-Discovery client peer for the tests, run inside the NVR namespace as a script.

    python wsd_peer.py listen LOCAL_ADDR        # print announcements until stdin closes
    python wsd_peer.py probe LOCAL_ADDR SECONDS # multicast one Probe, print the matches

Each received message is printed as one JSON line.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time
import uuid

import defusedxml.ElementTree as SafeET

GROUP, PORT = "239.255.255.250", 3702
S = "http://www.w3.org/2003/05/soap-envelope"
A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
D = "http://schemas.xmlsoap.org/ws/2005/04/discovery"


def describe(data: bytes, source: str) -> dict[str, object]:
    root = SafeET.fromstring(data)
    header = root.find(f"{{{S}}}Header")
    body = root.find(f"{{{S}}}Body")
    assert header is not None
    assert body is not None
    item = body[0]
    match = item.find(f"{{{D}}}ProbeMatch")
    target = match if match is not None else item
    return {
        "source": source,
        "action": header.findtext(f"{{{A}}}Action", "").rsplit("/", 1)[-1],
        "relates_to": header.findtext(f"{{{A}}}RelatesTo"),
        "address": target.findtext(f"{{{A}}}EndpointReference/{{{A}}}Address"),
        "types": target.findtext(f"{{{D}}}Types"),
        "scopes": (target.findtext(f"{{{D}}}Scopes") or "").split(),
        "xaddrs": target.findtext(f"{{{D}}}XAddrs"),
        "metadata_version": target.findtext(f"{{{D}}}MetadataVersion"),
    }


def listen(local: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((GROUP, PORT))
    mreq = socket.inet_aton(GROUP) + socket.inet_aton(local)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    print(json.dumps({"ready": True}), flush=True)
    while True:
        readable, _, _ = select.select([sock, sys.stdin], [], [], 30)
        if sys.stdin in readable and not sys.stdin.readline():
            return
        if sock in readable:
            data, (host, _) = sock.recvfrom(65536)
            print(json.dumps(describe(data, host)), flush=True)


def probe(local: str, seconds: float) -> None:
    message_id = uuid.uuid4().urn
    probe = f"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="{S}" xmlns:a="{A}" xmlns:d="{D}"
 xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>
<a:Action>{D}/Probe</a:Action><a:MessageID>{message_id}</a:MessageID>
<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>
<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((local, 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    print(json.dumps({"message_id": message_id}), flush=True)
    sock.sendto(probe.encode(), (GROUP, PORT))
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if readable:
            data, (host, _) = sock.recvfrom(65536)
            print(json.dumps(describe(data, host)), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "listen":
        listen(sys.argv[2])
    else:
        probe(sys.argv[2], float(sys.argv[3]))
