"""API parameters that name objects and carry real-server settings, the same in both dialects."""

from __future__ import annotations

from collections.abc import Mapping

from lmctl.loadmaster.models import VirtualServiceKey, wire_value

VirtualServiceRef = VirtualServiceKey | int
"""A virtual service as the client takes it: its key, or its Index (only for a SubVS)."""


def vs_params(vs: VirtualServiceRef) -> dict[str, str]:
    """``vs``/``port``/``prot`` for a key, ``vs=<Index>`` for an index."""
    if isinstance(vs, VirtualServiceKey):
        return vs.params()
    return {"vs": str(vs)}


def describe_vs(vs: VirtualServiceRef) -> str:
    """A virtual service as a message names it: ``10.0.0.5:443/tcp`` or ``VS index 7``."""
    return str(vs) if isinstance(vs, VirtualServiceKey) else f"VS index {vs}"


def rs_params(address: str, port: int) -> dict[str, str]:
    """``rs``/``rsport`` naming a real server inside a VS."""
    return {"rs": address, "rsport": str(port)}


def real_server_params(
    *,
    weight: int | None = None,
    forward: str | None = None,
    enable: bool | None = None,
    non_local: bool = False,
) -> dict[str, str]:
    """``addrs``/``modrs`` settings; ``None`` leaves a setting out (the appliance keeps it)."""
    params: dict[str, str] = {}
    if weight is not None:
        params["weight"] = str(weight)
    if forward is not None:
        params["forward"] = forward
    if enable is not None:
        params["enable"] = wire_value(enable)
    if non_local:
        params["non_local"] = "1"
    return params


def moved_key(vs: VirtualServiceRef, params: Mapping[str, str]) -> VirtualServiceRef:
    """Where a VS is after ``modvs`` with ``params``: ``vsaddress``/``vsport`` move it."""
    if not isinstance(vs, VirtualServiceKey):
        return vs
    caseless = {name.lower(): value for name, value in params.items()}
    return VirtualServiceKey(
        address=caseless.get("vsaddress") or vs.address,
        port=caseless.get("vsport") or vs.port,
        protocol=vs.protocol,
    )
