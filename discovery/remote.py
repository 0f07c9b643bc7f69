"""Remote mode: submit devices interrogated on site to the service's API with a token."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from pydantic import ValidationError

from discovery.schemas import DeviceBatchIn, DeviceBatchOut


class RemoteError(Exception):
    """The service refused or did not answer a submission; the message says why."""


def _client(timeout_s: float) -> httpx.Client:
    # No redirects (a token must not follow one elsewhere) and no proxies from the environment.
    return httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False)


def check_token(server: str, token: str, *, timeout_s: float = 10.0) -> None:
    """Ask the service who the token is, so a bad token fails before any probing."""
    url = f"{server.rstrip('/')}/api/v1/me"
    try:
        with _client(timeout_s) as client:
            response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise RemoteError(f"cannot reach {server}: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise RemoteError("the service refused the token")
    if response.status_code != 200:
        raise RemoteError(f"the service answered HTTP {response.status_code}")


def submit_devices(
    server: str, token: str, site_code: str, batch: DeviceBatchIn, *, timeout_s: float = 30.0
) -> DeviceBatchOut:
    """POST the devices to /api/v1/sites/{code}/devices and return the service's results."""
    url = f"{server.rstrip('/')}/api/v1/sites/{quote(site_code, safe='')}/devices"
    try:
        with _client(timeout_s) as client:
            response = client.post(
                url,
                content=batch.model_dump_json(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
    except httpx.HTTPError as exc:
        raise RemoteError(f"cannot reach {server}: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise RemoteError("the service refused the token")
    if response.status_code == 404:
        raise RemoteError(f"site {site_code} is unknown to the service or outside the token")
    if response.status_code != 200:
        raise RemoteError(f"the service answered HTTP {response.status_code}")
    try:
        return DeviceBatchOut.model_validate_json(response.content)
    except ValidationError:
        raise RemoteError("the service's answer is not a device registration result") from None
