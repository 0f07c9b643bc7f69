"""The RTSP server's pure parts: messages, Digest auth, SDP, RTP packetization, routing."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from sim.clips import AccessUnit, Clip
from sim.rtsp.auth import DigestAuth, parse_digest
from sim.rtsp.connection import _interleaved, resolve
from sim.rtsp.messages import RequestError, format_response, parse_head, redact_url
from sim.rtsp.rtp import MAX_PAYLOAD, PacketizedClip, interleaved_packets, nal_payloads
from sim.rtsp.sdp import build_sdp
from sim.spec import CameraSpec


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_header(
    auth: DigestAuth, method: str, uri: str, user: str, password: str, qop: bool = False
) -> str:
    """Answer the server's challenge as a client would."""
    params = parse_digest(auth.challenge().removeprefix("Digest "))
    ha1 = md5(f"{user}:{params['realm']}:{password}")
    ha2 = md5(f"{method}:{uri}")
    nonce = params["nonce"]
    if qop:
        response = md5(f"{ha1}:{nonce}:00000001:abcdef:auth:{ha2}")
        extra = ', qop=auth, nc=00000001, cnonce="abcdef"'
    else:
        response = md5(f"{ha1}:{nonce}:{ha2}")
        extra = ""
    return (
        f'Digest username="{user}", realm="{params["realm"]}", nonce="{nonce}", '
        f'uri="{uri}", response="{response}"{extra}'
    )


def test_parse_keepalive_method() -> None:
    assert (
        parse_head(b"GET_PARAMETER rtsp://h/a RTSP/1.0\r\nCSeq: 9\r\n\r\n").method
        == "GET_PARAMETER"
    )


def test_parse_request_head() -> None:
    head = b"DESCRIBE rtsp://h:554/S/C/main RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n"
    request = parse_head(head)
    assert request.method == "DESCRIBE"
    assert request.cseq == "2"
    assert request.path == "/S/C/main"
    assert request.headers["accept"] == "application/sdp"


@pytest.mark.parametrize(
    "head",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"PLAY x RTSP/1.0\r\nnocolon\r\n\r\n",
        b"\xff\xfe",
    ],
)
def test_malformed_requests_raise(head: bytes) -> None:
    with pytest.raises(RequestError):
        parse_head(head)


def test_format_response_echoes_cseq_and_body() -> None:
    raw = format_response(200, "7", {"Public": "OPTIONS"}, b"v=0\r\n")
    text = raw.decode()
    assert text.startswith("RTSP/1.0 200 OK\r\n")
    assert "CSeq: 7\r\n" in text
    assert "Content-Length: 5\r\n" in text
    assert text.endswith("\r\n\r\nv=0\r\n")


def test_redact_url_hides_credentials() -> None:
    assert redact_url("rtsp://admin:pw@1.2.3.4:554/a/b") == "rtsp://***@1.2.3.4:554/a/b"
    assert redact_url("rtsp://1.2.3.4/a") == "rtsp://1.2.3.4/a"


@pytest.mark.parametrize("qop", [False, True])
def test_digest_accepts_the_right_password_only(qop: bool) -> None:
    auth = DigestAuth()
    uri = "rtsp://127.0.21.1:554/S/C/main"
    good = digest_header(auth, "DESCRIBE", uri, "admin", "pw", qop)
    assert auth.check("DESCRIBE", good, "admin", "pw")
    assert not auth.check("DESCRIBE", good, "admin", "other")
    assert not auth.check("SETUP", good, "admin", "pw")
    assert not auth.check("DESCRIBE", good, "root", "pw")


def test_digest_refuses_foreign_nonces() -> None:
    auth, other = DigestAuth(), DigestAuth()
    header = digest_header(other, "DESCRIBE", "rtsp://h/S/C/main", "admin", "pw")
    assert not auth.check("DESCRIBE", header, "admin", "pw")


def test_basic_and_junk_authorization() -> None:
    auth = DigestAuth()
    token = base64.b64encode(b"admin:pw").decode()
    assert auth.check("DESCRIBE", f"Basic {token}", "admin", "pw")
    assert not auth.check("DESCRIBE", f"Basic {token}", "admin", "nope")
    assert not auth.check("DESCRIBE", "Basic !!!", "admin", "pw")
    assert not auth.check("DESCRIBE", "Digest garbage", "admin", "pw")
    assert not auth.check("DESCRIBE", "Bearer x", "admin", "pw")
    assert not auth.check("DESCRIBE", None, "admin", "pw")


def test_small_nal_is_sent_whole_and_large_one_as_fu_a() -> None:
    small = bytes([0x67]) + b"\x01" * 20
    assert nal_payloads(small) == [small]
    big = bytes([0x65]) + bytes(range(256)) * 20
    parts = nal_payloads(big)
    assert len(parts) > 1
    assert all(len(p) <= MAX_PAYLOAD for p in parts)
    assert all(p[0] == (0x65 & 0xE0) | 28 for p in parts)
    assert parts[0][1] == 0x80 | 5
    assert parts[-1][1] == 0x40 | 5
    assert all(p[1] == 5 for p in parts[1:-1])
    assert bytes([0x65]) + b"".join(p[2:] for p in parts) == big


def test_interleaved_packets_mark_the_last_packet_only() -> None:
    nals = [bytes([0x67, 1, 2]), bytes([0x68, 3]), bytes([0x65]) + b"\x00" * 3000]
    data, offsets = interleaved_packets(nals)
    markers = []
    for offset in offsets:
        assert data[offset : offset + 1] == b"$"
        (length,) = struct.unpack_from(">H", data, offset + 2)
        assert data[offset + 4] == 0x80
        markers.append(data[offset + 5] & 0x80)
        assert data[offset + 5] & 0x7F == 96
    assert markers[-1]
    assert not any(markers[:-1])
    assert offsets[-1] + 4 + length == len(data)


def tiny_clip() -> Clip:
    sps, pps = bytes([0x67, 0x42, 0xC0, 0x1E]), bytes([0x68, 0xCE])
    units = tuple(
        AccessUnit(
            i / 10, i % 5 == 0, (sps, pps, bytes([0x65, i])) if i % 5 == 0 else (bytes([0x41, i]),)
        )
        for i in range(10)
    )
    return Clip("live", 64, 48, 10, sps, pps, units)


def test_stamp_writes_client_numbers() -> None:
    packets = PacketizedClip.build(tiny_clip())
    assert packets.keyframes == (0, 5)
    assert packets.loop_ticks == 90_000
    assert packets.keyframe_at(0.7) == 5
    assert packets.keyframe_at(0.2) == 0
    data = packets.stamp(0, 65534, 123456, 0xDEADBEEF, 2)
    seqs = []
    for offset in packets.offsets[0]:
        assert data[offset + 1] == 2
        seq, ts, ssrc = struct.unpack_from(">HII", data, offset + 6)
        seqs.append(seq)
        assert (ts, ssrc) == (123456, 0xDEADBEEF)
    assert seqs == [65534, 65535, 0]
    # The shared template is untouched.
    assert packets.templates[0][packets.offsets[0][0] + 1] == 0


def test_sdp_describes_h264() -> None:
    sdp = build_sdp(tiny_clip(), "127.0.21.1", 42, "S/C main")
    assert "m=video 0 RTP/AVP 96" in sdp
    assert "a=rtpmap:96 H264/90000" in sdp
    assert "packetization-mode=1" in sdp
    assert "profile-level-id=42c01e" in sdp
    assert "sprop-parameter-sets=Z0LAHg==,aM4=" in sdp
    assert "a=control:trackID=0" in sdp
    assert "a=framerate:10" in sdp
    assert "a=x-dimensions:64,48" in sdp


def test_transport_negotiation() -> None:
    assert _interleaved("RTP/AVP/TCP;unicast;interleaved=0-1") == 0
    assert _interleaved("RTP/AVP/TCP;unicast;interleaved=4-5") == 4
    assert _interleaved("RTP/AVP;unicast;client_port=5000-5001") is None
    assert _interleaved("RTP/AVP/UDP;unicast;client_port=1-2,RTP/AVP/TCP;interleaved=2-3") == 2


def test_resolve_paths() -> None:
    camera = CameraSpec("S1", "cam", "live", "127.0.21.9", 554, 80, "u", "p")
    cameras = {camera.path: camera}
    assert resolve(cameras, "/S1/cam/main") == (camera, camera.streams[0])
    assert resolve(cameras, "/S1/cam/sub/trackID=0") == (camera, camera.streams[1])
    assert resolve(cameras, "/S1/cam/sub/") == (camera, camera.streams[1])
    assert resolve(cameras, "/S1/cam/third") == (camera, None)
    assert resolve(cameras, "/S1/cam") == (camera, None)
    assert resolve(cameras, "/S2/cam/main") == (None, None)
    assert resolve(cameras, "") == (None, None)
