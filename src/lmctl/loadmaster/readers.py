"""Reply fields of each command, read into the typed models.

The same functions serve both dialects: by the time fields get here the XML has become dicts
and lists exactly like the JSON. Normalisation itself (flags, numbers, absent elements) lives in
the models; these functions only find the rows and turn validation failures into
``ReplyFormatError`` with a short, precise reason.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from lmctl.addresses import normalised_address
from lmctl.loadmaster.models import (
    RealServer,
    Statistics,
    VirtualService,
    as_list,
)
from lmctl.loadmaster.replies import ReplyFormatError

T = TypeVar("T")


def _validated(what: str, build: Callable[[Mapping[str, Any]], T], row: Mapping[str, Any]) -> T:
    """``build(row)``, with a pydantic error reported as which field of what is wrong."""
    try:
        return build(row)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(row)"
        raise ReplyFormatError(
            f"{what} has an unreadable field {where}: {first['msg']} "
            f"(got {str(first.get('input'))[:40]!r})"
        ) from None


def _row(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReplyFormatError(f"{what} is not a record (got {type(value).__name__})")
    return value


def virtual_services(fields: Mapping[str, Any]) -> list[VirtualService]:
    """``listvs``: every VS and SubVS entry, each with its ``Rs`` and ``SubVS`` rows."""
    services = []
    for position, raw in enumerate(as_list(fields.get("VS")), start=1):
        row = _row(raw, f"VS entry {position}")
        services.append(_validated(f"VS entry {position}", VirtualService.model_validate, row))
    return services


def virtual_service(fields: Mapping[str, Any]) -> VirtualService:
    """``showvs``/``addvs``/``modvs``: one VS whose fields sit directly in the reply."""
    if "Index" not in fields:
        raise ReplyFormatError("the reply carries no virtual service (no Index field)")
    return _validated("the virtual service", VirtualService.model_validate, fields)


def real_servers(fields: Mapping[str, Any]) -> list[RealServer]:
    """``showrs``/``addrs``: every ``Rs`` row of the reply (at least one)."""
    rows = [_row(raw, "Rs row") for raw in as_list(fields.get("Rs"))]
    if not rows:
        raise ReplyFormatError("the reply carries no real server (no Rs row)")
    return [_validated("the real server", RealServer.model_validate, row) for row in rows]


def real_server(fields: Mapping[str, Any], address: str, port: int) -> RealServer | None:
    """``showrs``/``addrs``: the ``Rs`` row at ``address:port``, or None when no row is.

    Addresses compare as addresses (``2001:0DB8::11`` is ``2001:db8::11``). Another row is never
    taken in its place: a read-back would then judge a write by the wrong real server.
    """
    wanted = normalised_address(address)
    return next(
        (rs for rs in real_servers(fields) if rs.address == wanted and rs.port == port), None
    )


def statistics(fields: Mapping[str, Any]) -> Statistics:
    """``stats``: per-VS and per-RS counters (``Vs``/``VS``, ``Rs``/``RS`` rows)."""
    return _validated("the statistics", Statistics.model_validate, fields)


def parameter(fields: Mapping[str, Any], name: str) -> str:
    """``get``: the value of ``name`` (matched case-insensitively; the only field otherwise)."""
    for key, value in fields.items():
        if key.lower() == name.lower():
            return _scalar(value, name)
    if len(fields) == 1:
        return _scalar(next(iter(fields.values())), name)
    raise ReplyFormatError(f"the reply does not carry the parameter {name!r}")


def _scalar(value: Any, name: str) -> str:
    if isinstance(value, Mapping | list):
        raise ReplyFormatError(f"the parameter {name!r} is not a single value")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def backup_archive(fields: Mapping[str, Any]) -> bytes:
    """APIv2 ``backup``: the archive, base64-encoded in ``data``."""
    encoded = fields.get("data", fields.get("Data"))
    if not isinstance(encoded, str):
        raise ReplyFormatError("the backup reply carries no base64 'data' field")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ReplyFormatError("the backup reply's 'data' field is not valid base64") from None
