"""Packetize a clip into interleaved RTP once; stamp per-client numbers into copies."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from sim.clips import Clip
from sim.rtsp.sdp import CLOCK_RATE, PAYLOAD_TYPE

MAX_PAYLOAD = 1400
_FU_A = 28
_HEAD = struct.Struct(">HII")  # sequence number, timestamp, SSRC
_SEQ_OFFSET = 6  # "$", channel, length (2), RTP byte 0, byte 1


def nal_payloads(nal: bytes, max_payload: int = MAX_PAYLOAD) -> list[bytes]:
    """Return the RTP payloads of one NAL unit: itself if small, else FU-A fragments."""
    if len(nal) <= max_payload:
        return [nal]
    indicator = (nal[0] & 0xE0) | _FU_A
    nal_type = nal[0] & 0x1F
    body = nal[1:]
    step = max_payload - 2
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    payloads = []
    for index, chunk in enumerate(chunks):
        fu_header = nal_type
        if index == 0:
            fu_header |= 0x80
        elif index == len(chunks) - 1:
            fu_header |= 0x40
        payloads.append(bytes((indicator, fu_header)) + chunk)
    return payloads


def interleaved_packets(nals: Sequence[bytes]) -> tuple[bytes, tuple[int, ...]]:
    """Return one access unit as interleaved RTP frames with blank numbers, and frame offsets.

    Channel, sequence number, timestamp and SSRC are zero; the marker bit is set on the
    last packet of the access unit.
    """
    payloads = [payload for nal in nals for payload in nal_payloads(nal)]
    chunks: list[bytes] = []
    offsets: list[int] = []
    position = 0
    for index, payload in enumerate(payloads):
        marker = 0x80 if index == len(payloads) - 1 else 0
        header = struct.pack(
            ">cBHBBHII", b"$", 0, 12 + len(payload), 0x80, marker | PAYLOAD_TYPE, 0, 0, 0
        )
        offsets.append(position)
        chunks.append(header)
        chunks.append(payload)
        position += len(header) + len(payload)
    return b"".join(chunks), tuple(offsets)


@dataclass(frozen=True)
class PacketizedClip:
    """A clip's access units as ready interleaved RTP bytes, shared by every client."""

    clip: Clip
    templates: tuple[bytes, ...]
    offsets: tuple[tuple[int, ...], ...]
    ticks: tuple[int, ...]  # RTP timestamp of each access unit from the loop start
    loop_ticks: int
    keyframes: tuple[int, ...]

    @classmethod
    def build(cls, clip: Clip) -> PacketizedClip:
        """Packetize every access unit of a clip."""
        built = [interleaved_packets(unit.nals) for unit in clip.access_units]
        return cls(
            clip=clip,
            templates=tuple(template for template, _ in built),
            offsets=tuple(offsets for _, offsets in built),
            ticks=tuple(round(unit.pts * CLOCK_RATE) for unit in clip.access_units),
            loop_ticks=round(clip.duration * CLOCK_RATE),
            keyframes=tuple(i for i, unit in enumerate(clip.access_units) if unit.keyframe),
        )

    def keyframe_at(self, position_s: float) -> int:
        """Return the index of the last keyframe at or before a time within the loop."""
        best = self.keyframes[0]
        for index in self.keyframes:
            if self.clip.access_units[index].pts <= position_s:
                best = index
        return best

    def stamp(self, index: int, seq: int, timestamp: int, ssrc: int, channel: int) -> bytearray:
        """Return access unit `index` with a client's numbers; seq counts up per packet."""
        data = bytearray(self.templates[index])
        pack = _HEAD.pack_into
        for offset in self.offsets[index]:
            pack(data, offset + _SEQ_OFFSET, seq & 0xFFFF, timestamp, ssrc)
            seq += 1
        if channel:
            for offset in self.offsets[index]:
                data[offset + 1] = channel
        return data
