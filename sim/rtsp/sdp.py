"""Describe a simulated H.264 stream in SDP, as IP cameras answer DESCRIBE."""

from __future__ import annotations

import base64

from sim.clips import Clip

PAYLOAD_TYPE = 96
CLOCK_RATE = 90_000
TRACK_CONTROL = "trackID=0"


def build_sdp(clip: Clip, host: str, session_id: int, title: str) -> str:
    """Return the SDP of one stream: H.264 payload 96, packetization mode 1, one track."""
    sprop = ",".join(base64.b64encode(unit).decode() for unit in (clip.sps, clip.pps))
    total_bytes = sum(len(nal) for unit in clip.access_units for nal in unit.nals)
    kbps = max(1, round(total_bytes * 8 / clip.duration / 1000))
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 {host}",
        f"s={title}",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        "a=range:npt=now-",
        f"m=video 0 RTP/AVP {PAYLOAD_TYPE}",
        f"b=AS:{kbps}",
        f"a=rtpmap:{PAYLOAD_TYPE} H264/{CLOCK_RATE}",
        f"a=fmtp:{PAYLOAD_TYPE} packetization-mode=1;profile-level-id={clip.profile_level_id};"
        f"sprop-parameter-sets={sprop}",
        f"a=control:{TRACK_CONTROL}",
        f"a=framerate:{clip.fps}",
        f"a=x-dimensions:{clip.width},{clip.height}",
        "a=sendonly",
    ]
    return "\r\n".join(lines) + "\r\n"
