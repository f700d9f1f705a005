"""Did an unanswered write take effect? Pure decisions from what a read-back shows.

After a write fails ambiguously (the connection dropped after sending, a timeout, a 5xx), the
client reads the object again and asks these functions: ``APPLIED`` (report success with the
observed object, send nothing more), ``NOT_APPLIED`` (safe to send the write once more) or
``UNKNOWN`` (stop and tell the user).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from pydantic import ValidationError

from lmctl.loadmaster.models import (
    RealServer,
    VirtualService,
    VirtualServiceSettings,
)


class Verdict(enum.Enum):
    """What a read-back says about an unanswered write."""

    APPLIED = "applied"
    NOT_APPLIED = "not applied"
    UNKNOWN = "unknown"


_VS_FIELD_BY_WIRE = {
    (info.alias or name).lower(): name for name, info in VirtualServiceSettings.model_fields.items()
}
_RS_FIELD_BY_WIRE = {
    (info.alias or name).lower(): name
    for name, info in RealServer.model_fields.items()
    if name in {"weight", "forward", "enable", "limit", "critical"}
}


def _wire_subset(params: Mapping[str, str], fields: Mapping[str, str]) -> dict[str, str]:
    """The params that set a known field, keyed by field name (parameter names are caseless)."""
    return {fields[name.lower()]: value for name, value in params.items() if name.lower() in fields}


def virtual_service_matches(params: Mapping[str, str], observed: VirtualService) -> bool:
    """True when every managed setting in ``params`` has the value sent."""
    sent = _wire_subset(params, _VS_FIELD_BY_WIRE)
    try:
        expected = VirtualServiceSettings.model_validate(sent)
    except ValidationError:
        return False
    return all(getattr(expected, field) == getattr(observed, field) for field in sent)


def real_server_matches(params: Mapping[str, str], observed: RealServer) -> bool:
    """True when every real-server setting in ``params`` has the value sent."""
    sent = _wire_subset(params, _RS_FIELD_BY_WIRE)
    try:
        expected = RealServer.model_validate(
            {"address": observed.address, "port": observed.port, **sent}
        )
    except ValidationError:
        return False
    return all(getattr(expected, field) == getattr(observed, field) for field in sent)


def creates_sub_service(params: Mapping[str, str]) -> bool:
    """True for a ``modvs`` that adds a SubVS: not idempotent, so never resent after a doubt."""
    return any(name.lower() == "createsubvs" for name in params)


def after_add(found: bool, matches: bool) -> Verdict:
    """``addvs``/``addrs``: there and as sent → applied; absent → not; there but different → ?"""
    if not found:
        return Verdict.NOT_APPLIED
    return Verdict.APPLIED if matches else Verdict.UNKNOWN


def after_modify(found: bool, matches: bool) -> Verdict:
    """``modvs``/``modrs``/``set``: as sent → applied; different → not (resending is idempotent)."""
    if not found:
        return Verdict.UNKNOWN
    return Verdict.APPLIED if matches else Verdict.NOT_APPLIED


def after_delete(found: bool) -> Verdict:
    """``delvs``/``delrs``: gone → applied; still there → not applied."""
    return Verdict.NOT_APPLIED if found else Verdict.APPLIED
