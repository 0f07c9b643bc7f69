"""Decide whether an address a device advertises may be used: the device itself or the site."""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote, urlsplit, urlunsplit

# Hosts wider than this are not swept: a precinct network is small.
MAX_SWEEP_PREFIX = 22


class AddressRefused(ValueError):
    """An advertised address points somewhere other than the device or the site's network."""


def url_host(url: str) -> str | None:
    """Return the lower-case host of a URL, or None when it has none or does not parse."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _as_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def host_allowed(host: str, device_host: str, network: str | None) -> bool:
    """Return True if host is the device's own host or an address inside the site's network."""
    host = host.lower().strip("[]")
    if host == device_host.lower().strip("[]"):
        return True
    ip = _as_ip(host)
    if ip is None or not network:
        return False
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False
    return ip in net


def check_url(url: str, device_host: str, network: str | None, schemes: frozenset[str]) -> str:
    """Return the URL stripped of credentials if it is allowed, or raise AddressRefused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise AddressRefused("address does not parse") from None
    if parts.scheme.lower() not in schemes:
        raise AddressRefused(f"scheme {parts.scheme or '(none)'!r} not allowed")
    host = parts.hostname
    if not host:
        raise AddressRefused("address has no host")
    if not host_allowed(host, device_host, network):
        raise AddressRefused(f"host {host} is neither the device {device_host} nor the site")
    return strip_credentials(urlunsplit(parts._replace(netloc=_netloc(host, port))))


def _netloc(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def strip_credentials(url: str) -> str:
    """Return the URL without any user name or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=_netloc(parts.hostname or "", parts.port)))


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Return the URL without credentials, and the user name and password it carried."""
    parts = urlsplit(url.strip())
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return strip_credentials(url.strip()), user, password


def sweep_hosts(cidr: str) -> list[str]:
    """Return the host addresses of a small IPv4 subnet, or raise ValueError if it is too large."""
    net = ipaddress.ip_network(cidr, strict=False)
    if net.version != 4:
        raise ValueError("only IPv4 subnets can be swept")
    if net.prefixlen < MAX_SWEEP_PREFIX:
        raise ValueError(f"subnet {cidr} is larger than /{MAX_SWEEP_PREFIX}; sweep a smaller one")
    hosts = list(net.hosts()) if net.prefixlen < 31 else list(net)
    return [str(h) for h in hosts]


def parse_host_port(value: str, default_port: int) -> tuple[str, int]:
    """Parse HOST[:PORT] (IPv6 in brackets) into a host and a port, or raise ValueError."""
    value = value.strip()
    if not value:
        raise ValueError("empty host")
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:
        host, port_text = value, ""
    port = int(port_text) if port_text else default_port
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in {value!r}")
    if not host or any(c in host for c in "/@ "):
        raise ValueError(f"not a host: {value!r}")
    return host.lower(), port
