"""Encode each simulated picture kind once into a looping H.264 clip, cached on disk."""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import av
import av.video.frame

from sim import scenes
from sim.spec import PICTURE_FEEDS, StreamSpec

log = logging.getLogger(__name__)

# Bump when the clip format or the encoder settings change; scene code changes are hashed in.
CONTENT_VERSION = "3"
DEFAULT_DURATION_S = 10
_MAGIC = b"CAMSIMCLIP\x01"
# Frozen pictures are coded at a fixed quantiser so that every keyframe decodes identically.
_FROZEN_QP = 24
_CRF = 28
NAL_SPS = 7
NAL_PPS = 8
_DROPPED_NALS = frozenset({6, 9})  # SEI (x264's banner) and access unit delimiters


class AccessUnit(NamedTuple):
    """One coded picture: presentation time, whether it is an IDR, and its NAL units."""

    pts: float
    keyframe: bool
    nals: tuple[bytes, ...]


@dataclass(frozen=True)
class Clip:
    """A looping H.264 clip: its access units (keyframes carry SPS/PPS) and parameters."""

    kind: str
    width: int
    height: int
    fps: int
    sps: bytes
    pps: bytes
    access_units: tuple[AccessUnit, ...]

    @property
    def duration(self) -> float:
        """Return the loop length in seconds."""
        return len(self.access_units) / self.fps

    @property
    def profile_level_id(self) -> str:
        """Return the SDP profile-level-id (profile, constraints, level) from the SPS."""
        return self.sps[1:4].hex()


def picture_kind(feed: str) -> str:
    """Return the picture kind a feed shows: transport-fault feeds show the live scene."""
    return feed if feed in PICTURE_FEEDS else "live"


def cache_dir() -> Path:
    """Return the clip cache directory: $CAMFLEET_SIM_CACHE or ~/.cache/camfleet-sim."""
    configured = os.environ.get("CAMFLEET_SIM_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "camfleet-sim"


def content_version() -> str:
    """Return a version string that changes whenever the scenes, encoder or settings change."""
    digest = hashlib.sha256(CONTENT_VERSION.encode())
    for module_file in (scenes.__file__, __file__):
        digest.update(Path(module_file).read_bytes())
    digest.update(av.__version__.encode())
    return digest.hexdigest()[:16]


def split_annexb(data: bytes) -> list[bytes]:
    """Return the NAL units of an Annex B byte stream, start codes removed."""
    parts = data.split(b"\x00\x00\x01")
    # A 4-byte start code leaves its leading zero at the end of the previous unit.
    return [part.rstrip(b"\x00") for part in parts if part.rstrip(b"\x00")]


def _encoder(width: int, height: int, fps: int, qp: int | None) -> av.VideoCodecContext:
    """Return a libx264 encoder set up as a camera: no B-frames, 1 s GOP, inline SPS/PPS."""
    codec = av.CodecContext.create("libx264", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.time_base = Fraction(1, fps)
    codec.framerate = Fraction(fps, 1)
    params = f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0:repeat-headers=1:aud=0"
    options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "profile": "baseline",
        "threads": "1",
        "x264-params": params,
    }
    options.update({"qp": str(qp)} if qp is not None else {"crf": str(_CRF)})
    codec.options = options
    return codec


def _video_frame(picture: scenes.Frame) -> av.video.frame.VideoFrame:
    """Return a yuv420p frame from a BGR picture."""
    return av.VideoFrame.from_ndarray(picture, format="bgr24").reformat(format="yuv420p")


def _reconstruct(nals: Sequence[bytes]) -> av.video.frame.VideoFrame:
    """Decode one IDR access unit and return the picture a decoder shows for it."""
    decoder = av.CodecContext.create("h264", "r")
    stream = b"".join(b"\x00\x00\x00\x01" + nal for nal in nals)
    frames = [*decoder.decode(av.Packet(stream)), *decoder.decode(None)]
    frame = frames[0]
    assert isinstance(frame, av.video.frame.VideoFrame)
    return frame


def _frames(kind: str, stream: StreamSpec, count: int) -> Iterator[scenes.Frame]:
    """Yield the pictures of a clip."""
    for index in range(count):
        yield scenes.render(kind, stream.width, stream.height, index / stream.fps)


def _access_unit(packet: av.Packet[Any], index: int, fps: int) -> AccessUnit:
    """Return the access unit of one encoded packet."""
    nals = [nal for nal in split_annexb(bytes(packet)) if nal[0] & 0x1F not in _DROPPED_NALS]
    return AccessUnit(index / fps, bool(packet.is_keyframe), tuple(nals))


def _encode_moving(kind: str, stream: StreamSpec, count: int) -> list[AccessUnit]:
    """Encode a picture sequence frame by frame."""
    codec = _encoder(stream.width, stream.height, stream.fps, None)
    packets: list[av.Packet[Any]] = []
    for index, picture in enumerate(_frames(kind, stream, count)):
        frame = _video_frame(picture)
        frame.pts = index
        packets.extend(codec.encode(frame))
    packets.extend(codec.encode(None))
    return [_access_unit(packet, index, stream.fps) for index, packet in enumerate(packets)]


def _encode_frozen(kind: str, stream: StreamSpec, count: int) -> list[AccessUnit]:
    """Encode a frozen feed so that every decoded frame is bit-identical within each second.

    Each second's keyframe codes the (possibly re-clocked) picture; the frames after it are
    fed the keyframe's own reconstruction, so the encoder emits pure skip frames and no
    refinement creeps in between keyframes.
    """
    fps = stream.fps
    codec = _encoder(stream.width, stream.height, fps, _FROZEN_QP)
    units: list[AccessUnit] = []
    reconstruction: av.video.frame.VideoFrame | None = None
    for index in range(count):
        if index % fps == 0:
            picture = scenes.render(kind, stream.width, stream.height, index / fps)
            frame = _video_frame(picture)
        else:
            assert reconstruction is not None
            frame = reconstruction
        # A decoded frame says "I"; libx264 would take that as a forced keyframe.
        frame.pict_type = av.video.frame.PictureType.NONE
        frame.pts = index
        packets = codec.encode(frame)
        # zerolatency with one thread returns each frame's packet at once.
        assert len(packets) == 1, "libx264 delayed a frame despite zerolatency"
        unit = _access_unit(packets[0], index, fps)
        if index % fps == 0:
            reconstruction = _reconstruct(unit.nals)
        units.append(unit)
    return units


def encode_clip(kind: str, stream: StreamSpec, duration_s: int = DEFAULT_DURATION_S) -> Clip:
    """Render and encode one clip of a picture kind at a stream's size and rate."""
    if kind not in scenes.KINDS:
        raise ValueError(f"unknown picture kind {kind!r}")
    count = max(1, duration_s) * stream.fps
    if kind in ("frozen", "frozen_clock"):
        units = _encode_frozen(kind, stream, count)
    else:
        units = _encode_moving(kind, stream, count)
    if len(units) != count or not units[0].keyframe:
        raise RuntimeError(f"encoder produced {len(units)} units for {count} frames")
    first = units[0].nals
    sps = next(nal for nal in first if nal[0] & 0x1F == NAL_SPS)
    pps = next(nal for nal in first if nal[0] & 0x1F == NAL_PPS)
    return Clip(kind, stream.width, stream.height, stream.fps, sps, pps, tuple(units))


def _serialize(clip: Clip) -> bytes:
    """Return the cache file bytes of a clip."""
    chunks = [
        _MAGIC,
        struct.pack(">HHHI", clip.width, clip.height, clip.fps, len(clip.access_units)),
    ]
    for unit in clip.access_units:
        chunks.append(struct.pack(">BH", unit.keyframe, len(unit.nals)))
        for nal in unit.nals:
            chunks.append(struct.pack(">I", len(nal)))
            chunks.append(nal)
    return b"".join(chunks)


def _deserialize(kind: str, data: bytes) -> Clip:
    """Return the clip stored in cache file bytes."""
    if not data.startswith(_MAGIC):
        raise ValueError("not a clip cache file")
    offset = len(_MAGIC)
    width, height, fps, count = struct.unpack_from(">HHHI", data, offset)
    offset += 10
    units = []
    for index in range(count):
        keyframe, nal_count = struct.unpack_from(">BH", data, offset)
        offset += 3
        nals = []
        for _ in range(nal_count):
            (size,) = struct.unpack_from(">I", data, offset)
            offset += 4
            nals.append(data[offset : offset + size])
            offset += size
        units.append(AccessUnit(index / fps, bool(keyframe), tuple(nals)))
    if offset != len(data):
        raise ValueError("clip cache file has trailing bytes")
    first = units[0].nals
    sps = next(nal for nal in first if nal[0] & 0x1F == NAL_SPS)
    pps = next(nal for nal in first if nal[0] & 0x1F == NAL_PPS)
    return Clip(kind, width, height, fps, sps, pps, tuple(units))


def _cache_path(kind: str, stream: StreamSpec, duration_s: int) -> Path:
    """Return where the clip of a kind and stream is cached."""
    name = f"{kind}-{stream.width}x{stream.height}-{stream.fps}fps-{duration_s}s"
    return cache_dir() / content_version() / f"{name}.clip"


def _load_or_encode(kind: str, stream: StreamSpec, duration_s: int) -> Clip:
    """Return a clip from the disk cache, encoding and storing it first if missing."""
    path = _cache_path(kind, stream, duration_s)
    try:
        return _deserialize(kind, path.read_bytes())
    except FileNotFoundError:
        pass
    except (ValueError, struct.error, StopIteration, IndexError):
        log.warning("clip cache file %s is damaged; encoding again", path)
    clip = encode_clip(kind, stream, duration_s)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a file.
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
        handle.write(_serialize(clip))
    os.replace(handle.name, path)
    log.info("encoded %s clip %dx%d@%d", kind, stream.width, stream.height, stream.fps)
    return clip


_ClipKey = tuple[str, StreamSpec, int]
_clips: dict[_ClipKey, Clip] = {}
_key_locks: dict[_ClipKey, threading.Lock] = {}
_locks_guard = threading.Lock()


def load_clip(kind: str, stream: StreamSpec, duration_s: int = DEFAULT_DURATION_S) -> Clip:
    """Return the clip of a feed kind at a stream's size and rate (transport faults: live)."""
    key = (picture_kind(kind), stream, duration_s)
    clip = _clips.get(key)
    if clip is not None:
        return clip
    with _locks_guard:
        lock = _key_locks.setdefault(key, threading.Lock())
    with lock:
        clip = _clips.get(key)
        if clip is None:
            clip = _load_or_encode(*key)
            _clips[key] = clip
    return clip


def load_clips(
    kinds: Iterable[str], streams: Iterable[StreamSpec], duration_s: int = DEFAULT_DURATION_S
) -> dict[tuple[str, StreamSpec], Clip]:
    """Return the clip of every (feed kind, stream), encoding missing ones two at a time."""
    pairs = [(kind, stream) for kind in set(kinds) for stream in set(streams)]
    distinct = sorted({(picture_kind(k), s) for k, s in pairs}, key=str)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda key: load_clip(key[0], key[1], duration_s), distinct))
    return {(kind, stream): load_clip(kind, stream, duration_s) for kind, stream in pairs}
