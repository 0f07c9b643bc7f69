"""The simulated cameras' RTSP server: pre-encoded H.264 over RTP/AVP/TCP, with feed faults."""

from sim.rtsp.server import RtspServer

__all__ = ["RtspServer"]
