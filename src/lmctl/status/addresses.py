"""Addresses as status and drain take them from an operator and show them.

Every address in a model (spec, ``listvs``, ``stats``) is already normalised by the shared rule
(:func:`lmctl.loadmaster.models.normalised_address`); only what an operator types needs it here.
"""

from __future__ import annotations

from lmctl.loadmaster.models import normalised_address


def typed_address(text: str) -> str:
    """An address as an operator may type it (``[2001:DB8::11]``, ``::ffff:10.0.0.21``) in the
    models' spelling; text that is no address comes back stripped."""
    return normalised_address(text.strip().strip("[]"))


def host_port(address: str, port: int) -> str:
    """``10.0.0.21:443``, or ``[2001:db8::21]:443`` for an IPv6 address."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
