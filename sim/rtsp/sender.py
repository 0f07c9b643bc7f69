"""Send a looping packetized clip to one client, paced by the wall clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sim.rtsp.rtp import PacketizedClip
from sim.rtsp.sdp import CLOCK_RATE


class RtpSender:
    """Write one client's RTP stream on timer callbacks: no task, no await per frame.

    Each client starts at a keyframe, continues sequence numbers and timestamps across
    clip loops, and is dropped (``on_drop``) when its unsent buffer grows past a limit.
    """

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        packets: PacketizedClip,
        *,
        channel: int,
        seq: int,
        ts_base: int,
        ssrc: int,
        max_buffer: int,
        stall_after_s: float | None,
        on_drop: Callable[[], None],
        on_stall: Callable[[], None],
    ) -> None:
        """Prepare a sender; nothing is sent before start()."""
        self._transport = transport
        self._packets = packets
        self._channel = channel
        self.seq = seq
        self.ts_base = ts_base
        self._ssrc = ssrc
        self._max_buffer = max_buffer
        self._stall_after_s = stall_after_s
        self._on_drop = on_drop
        self._on_stall = on_stall
        self._loop = asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = None
        self._start = 0.0
        self._index = 0
        self._elapsed_ticks = 0  # media time of the next access unit, from the start
        self.running = False

    @property
    def first_timestamp(self) -> int:
        """Return the RTP timestamp of the first access unit (for RTP-Info)."""
        return self.ts_base & 0xFFFFFFFF

    def start(self) -> None:
        """Send the keyframe due now at once, then each later access unit on time."""
        packets = self._packets
        self._index = packets.keyframe_at(time.time() % packets.clip.duration)
        self._elapsed_ticks = 0
        self._start = self._loop.time()
        self.running = True
        self._send_due()

    def stop(self) -> None:
        """Stop sending; the next timestamp continues from the wall clock if restarted."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.running:
            elapsed = round((self._loop.time() - self._start) * CLOCK_RATE)
            self.ts_base = (self.ts_base + max(elapsed, self._elapsed_ticks)) & 0xFFFFFFFF
        self.running = False

    def _send_due(self) -> None:
        """Write every access unit that is due, then schedule the next one."""
        self._handle = None
        packets = self._packets
        transport = self._transport
        now = self._loop.time()
        count = len(packets.templates)
        while self.running:
            if self._stall_after_s is not None and now - self._start >= self._stall_after_s:
                self.running = False
                self._on_stall()
                return
            if transport.is_closing():
                self.running = False
                return
            index = self._index
            timestamp = (self.ts_base + self._elapsed_ticks) & 0xFFFFFFFF
            transport.write(packets.stamp(index, self.seq, timestamp, self._ssrc, self._channel))
            self.seq = (self.seq + len(packets.offsets[index])) & 0xFFFF
            if transport.get_write_buffer_size() > self._max_buffer:
                self.running = False
                self._on_drop()
                return
            # Advance; on wrapping, the loop's length keeps timestamps increasing.
            next_index = index + 1
            if next_index == count:
                next_index = 0
                step = packets.loop_ticks - packets.ticks[index]
            else:
                step = packets.ticks[next_index] - packets.ticks[index]
            self._index = next_index
            self._elapsed_ticks += step
            due = self._start + self._elapsed_ticks / CLOCK_RATE
            if due > now:
                self._handle = self._loop.call_at(due, self._send_due)
                return
