"""Typed failures of reaching a camera's stream; each maps to one check status."""

from __future__ import annotations

from typing import ClassVar

from health.status import Reason, Status


class StreamError(Exception):
    """The stream could not be watched; carries a reason code and a password-free message."""

    status: ClassVar[Status] = Status.NO_VIDEO

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def reason(self) -> Reason:
        """Return the machine-readable reason for the check outcome."""
        return Reason(self.code, self.message)


class UnreachableError(StreamError):
    """The host or port does not answer (no route, refused, or silent)."""

    status = Status.UNREACHABLE


class AuthFailedError(StreamError):
    """The camera refused the credentials, or demanded some and none were given."""

    status = Status.AUTH_FAILED


class NotFoundError(StreamError):
    """The camera answers but has no stream at this path."""

    status = Status.NOT_FOUND


class NoVideoError(StreamError):
    """The stream exists but yields no decodable video before the deadline."""

    status = Status.NO_VIDEO
