"""Find hosts of a small subnet with an open ONVIF port (devices that ignore WS-Discovery)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence


async def _open(host: str, port: int, timeout_s: float, gate: asyncio.Semaphore) -> bool:
    async with gate:
        try:
            async with asyncio.timeout(timeout_s):
                _, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True


async def open_ports(
    hosts: Sequence[str],
    ports: Sequence[int],
    *,
    timeout_s: float,
    concurrency: int = 256,
) -> list[tuple[str, int]]:
    """Return the (host, port) pairs that accept a TCP connection within timeout_s."""
    gate = asyncio.Semaphore(concurrency)
    pairs = [(h, p) for h in hosts for p in ports]
    found = await asyncio.gather(*(_open(h, p, timeout_s, gate) for h, p in pairs))
    return [pair for pair, ok in zip(pairs, found, strict=True) if ok]
