"""Create and destroy a pair of network namespaces (cameras, NVR) joined by a veth link."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CIDR = "10.231.0.0/24"
# Offsets inside the subnet: the NVR side takes .2, cameras .11 upward.
NVR_OFFSET = 2
FIRST_CAMERA_OFFSET = 11
NETNS_DIR = Path("/run/netns")
_counter = itertools.count(1)


class NetnsError(RuntimeError):
    """A namespace command failed."""


def _ip_command() -> str:
    path = shutil.which("ip")
    if path is None:
        raise FileNotFoundError("the `ip` command (iproute2) is not installed")
    return path


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = [_ip_command(), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)  # noqa: S603
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def unique_prefix(base: str = "cfsim") -> str:
    """Return a namespace name prefix unique to this process and call."""
    return f"{base}{os.getpid()}x{next(_counter)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(base: str = "cfsim") -> list[str]:
    """Delete namespaces that ``unique_prefix(base)`` named for processes no longer alive."""
    pattern = re.compile(rf"^{re.escape(base)}(\d+)x\d+-(cams|nvr)$")
    removed: list[str] = []
    names = sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else []
    for name in names:
        match = pattern.match(name)
        # A run killed before its cleanup leaves its pair behind; its pid says whose it was.
        if match and not _pid_alive(int(match.group(1))):
            destroy_netns(name)
            removed.append(name)
    return removed


def netns_exists(name: str) -> bool:
    """Return True if a named network namespace exists."""
    return (NETNS_DIR / name).exists()


def netns_unavailable_reason() -> str | None:
    """Return why named network namespaces cannot be made here, or None if they can."""
    name = unique_prefix("cfprobe")
    try:
        _ip("netns", "add", name)
    except FileNotFoundError:
        return "the `ip` command (iproute2) is not installed"
    except NetnsError as exc:
        return f"`ip netns add` is not permitted here: {exc}"
    _ip("netns", "del", name, check=False)
    return None


def inside_netns(name: str) -> bool:
    """Return True if this process already runs in the named network namespace."""
    try:
        mine = os.stat("/proc/self/ns/net")
        theirs = os.stat(NETNS_DIR / name)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def exec_argv(namespace: str, argv: Sequence[str]) -> list[str]:
    """Return the argv that runs a command inside a namespace."""
    return [_ip_command(), "netns", "exec", namespace, *argv]


def exec_in(
    namespace: str,
    argv: Sequence[str],
    *,
    timeout: float = 30.0,
    check: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command inside a namespace and return its completed process (text output).

    Pass secrets through ``stdin``, never in ``argv``: arguments are visible to every user.
    """
    return subprocess.run(  # noqa: S603 - an argv list, never a shell
        exec_argv(namespace, argv),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


@dataclass(frozen=True)
class NetnsPair:
    """Two namespaces on one subnet: cameras on one side, the NVR (the prober) on the other."""

    cams: str
    nvr: str
    cams_link: str
    nvr_link: str
    network: ipaddress.IPv4Network
    camera_hosts: tuple[str, ...]
    nvr_host: str

    def destroy(self) -> None:
        """Kill anything left in the namespaces and delete them; safe to call twice."""
        destroy_netns(self.cams)
        destroy_netns(self.nvr)


def destroy_netns(name: str) -> None:
    """Kill the processes left in one namespace and delete it, if it exists."""
    if not netns_exists(name):
        return
    pids = _ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        # Only processes inside a namespace this module created: they were started for it.
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _ip("netns", "del", name, check=False)


def create_pair(name_prefix: str, cidr: str = DEFAULT_CIDR, n_hosts: int = 16) -> NetnsPair:
    """Create ``<prefix>-cams`` and ``<prefix>-nvr`` joined by a veth pair with multicast routes."""
    network = ipaddress.IPv4Network(cidr)
    if FIRST_CAMERA_OFFSET + n_hosts >= network.num_addresses - 1:
        raise ValueError(f"{cidr} has no room for {n_hosts} camera addresses")
    pair = NetnsPair(
        cams=f"{name_prefix}-cams",
        nvr=f"{name_prefix}-nvr",
        cams_link="cf-cams",
        nvr_link="cf-nvr",
        network=network,
        camera_hosts=tuple(
            str(network.network_address + FIRST_CAMERA_OFFSET + i) for i in range(n_hosts)
        ),
        nvr_host=str(network.network_address + NVR_OFFSET),
    )
    pair.destroy()
    try:
        _setup(pair)
    except BaseException:
        pair.destroy()
        raise
    return pair


def _setup(pair: NetnsPair) -> None:
    prefix = pair.network.prefixlen
    _ip("netns", "add", pair.cams)
    _ip("netns", "add", pair.nvr)
    # Both ends are created straight inside their namespaces, so no name is ever taken on
    # the host and parallel runs cannot collide.
    _ip(
        "link", "add", pair.cams_link, "netns", pair.cams, "type", "veth",
        "peer", "name", pair.nvr_link, "netns", pair.nvr,
    )  # fmt: skip
    for ns, link in ((pair.cams, pair.cams_link), (pair.nvr, pair.nvr_link)):
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "link", "set", link, "multicast", "on")
        _ip("-n", ns, "link", "set", link, "up")
    for host in pair.camera_hosts:
        _ip("-n", pair.cams, "addr", "add", f"{host}/{prefix}", "dev", pair.cams_link)
    _ip("-n", pair.nvr, "addr", "add", f"{pair.nvr_host}/{prefix}", "dev", pair.nvr_link)
    for ns, link in ((pair.cams, pair.cams_link), (pair.nvr, pair.nvr_link)):
        _ip("-n", ns, "route", "add", "239.0.0.0/8", "dev", link)


@contextlib.contextmanager
def netns_pair(
    name_prefix: str | None = None, cidr: str = DEFAULT_CIDR, n_hosts: int = 16
) -> Iterator[NetnsPair]:
    """Create a namespace pair for the duration of a with-block."""
    pair = create_pair(name_prefix or unique_prefix(), cidr, n_hosts)
    try:
        yield pair
    finally:
        pair.destroy()
