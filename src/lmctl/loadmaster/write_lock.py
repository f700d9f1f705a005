"""One write in flight per appliance, however many clients of it a process opens.

Two ``LoadMaster`` objects on the same appliance (say ``apply`` of two arrays that share a
LoadMaster, or a drain next to an apply) share one lock, keyed by the appliance's address.
``asyncio.Lock`` belongs to one event loop, so the locks are kept per running loop and go away
with it.
"""

from __future__ import annotations

import asyncio
import weakref

import httpx

_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def appliance_address(url: str) -> str:
    """The appliance an API URL reaches: host and port, caseless (``lm-hq.example.net:443``)."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.host.lower()}:{port}"


def write_lock(url: str) -> asyncio.Lock:
    """The lock every client of the appliance at ``url`` holds while one of its writes runs."""
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(appliance_address(url), asyncio.Lock())
