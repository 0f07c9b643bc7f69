"""Simulated ONVIF Profile S devices: SOAP 1.2 device and media services over HTTP."""

from sim.onvif.device import OnvifDevice
from sim.onvif.hostile import BEHAVIOURS

__all__ = ["BEHAVIOURS", "OnvifDevice"]
