"""Comparing addresses as addresses, not as text: ``2001:DB8:0::11`` is ``2001:db8::11``."""

from __future__ import annotations

import ipaddress
from functools import lru_cache


# Each status read normalises every member address a few times; an appliance has few distinct.
@lru_cache(maxsize=8192)
def normalised_address(text: str) -> str:
    """The canonical text of an IP address (compressed, lower case); other text stripped as is.

    Specs store addresses canonically, but an operator types them any way and an appliance may
    report them in its own spelling, so both sides are normalised before they are compared.
    """
    stripped = text.strip()
    try:
        return str(ipaddress.ip_address(stripped.strip("[]")))
    except ValueError:
        return stripped


def host_port(address: str, port: int) -> str:
    """``10.0.0.21:443``, or ``[2001:db8::21]:443`` for an IPv6 address."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
