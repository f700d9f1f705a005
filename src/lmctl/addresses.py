"""One spelling per IP address, so addresses compare as addresses wherever lmctl holds them.

An appliance may report ``2001:DB8:0:0::50`` for what a spec writes ``2001:db8::50``; models
normalise both sides with ``normalised_address`` when they are built, so plan, apply and status
compare equal values and never "move" a service or a member to the address it already has.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache


# Replies repeat a few hundred distinct addresses thousands of times (one per VS and RS row).
@lru_cache(maxsize=16384)
def normalised_address(text: str) -> str:
    """The compressed, lower-case text of an IP literal; any other text unchanged.

    An IPv4-mapped IPv6 address (``::ffff:10.1.1.1``) is its IPv4 host (``10.1.1.1``), as the
    spec rules treat it (``lmctl.specs.array.ip_value``).
    """
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.compressed
    return address.compressed


def normalised_optional_address(text: str | None) -> str | None:
    """``normalised_address`` of an address that may be absent (a SubVS has none)."""
    return None if text is None else normalised_address(text)


def host_port(address: str, port: int) -> str:
    """``10.0.0.21:443``, or ``[2001:db8::21]:443`` for an IPv6 address (its last group is not
    the port)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
