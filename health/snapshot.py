"""Fetch a camera's still picture from its HTTP snapshot URI, size-capped and time-bounded."""

from __future__ import annotations

import httpx

from camfleet.redact import redact_url
from health.analysis import Image, decode_image


class SnapshotError(Exception):
    """The snapshot could not be fetched or is not a picture; the message is password-free."""


def fetch_snapshot(
    uri: str,
    username: str | None,
    password: str | None,
    timeout_s: float,
    max_bytes: int,
) -> Image:
    """Return the decoded snapshot picture; digest auth when asked, no redirects followed."""
    auth: httpx.Auth | None = None
    if username is not None and password is not None:
        auth = httpx.DigestAuth(username, password)
    shown = redact_url(uri)
    body = bytearray()
    try:
        with (
            httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client,
            client.stream("GET", uri, auth=auth) as response,
        ):
            if response.status_code != 200:
                raise SnapshotError(f"{shown} answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise SnapshotError(f"{shown} sent more than {max_bytes} bytes")
    except httpx.HTTPError as exc:
        raise SnapshotError(f"{shown} could not be fetched: {type(exc).__name__}") from exc
    image = decode_image(bytes(body))
    if image is None:
        raise SnapshotError(f"{shown} did not return a decodable picture")
    return image
