"""Discovery's own typed errors; the ONVIF adapter turns every library error into one of these."""

from __future__ import annotations

from discovery.model import Outcome


class DeviceError(Exception):
    """A device could not be used; ``code`` is machine-readable, the message is safe to show."""

    outcome: Outcome = Outcome.NOT_ONVIF

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # The device clock's offset from ours, when it was measured before the failure.
        self.clock_skew_s: float | None = None


class Unreachable(DeviceError):
    """Nothing answered in time, or the connection failed."""

    outcome = Outcome.UNREACHABLE


class NotOnvif(DeviceError):
    """Something answered, but not as an ONVIF device (including hostile or oversized replies)."""

    outcome = Outcome.NOT_ONVIF


class NotAuthorized(DeviceError):
    """The device refused the credentials (or the request's timestamp)."""

    outcome = Outcome.AUTH_FAILED


class ClockSkew(DeviceError):
    """The credentials were refused and the device's clock could not be read to compensate."""

    outcome = Outcome.CLOCK_SKEW


class ActionNotSupported(DeviceError):
    """The device does not implement an optional operation."""

    outcome = Outcome.NOT_ONVIF


class DeviceFault(DeviceError):
    """The device answered a call with a SOAP fault other than the ones above."""

    outcome = Outcome.NOT_ONVIF


class RefusedAddress(DeviceError):
    """The device pointed at an address that is neither itself nor the site's network."""

    outcome = Outcome.REFUSED_ADDRESS
