"""Hand-built desired and observed values for the pure status tests (no appliance, no specs)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lmctl.appliance.state import Owner
from lmctl.desired import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import (
    Statistics,
    VirtualService,
    VirtualServiceKey,
    VirtualServiceSettings,
)
from lmctl.status.conditions import array_status
from lmctl.status.model import ArrayStatus
from lmctl.status.observe import ApplianceReading

VIP = "10.20.0.10"
MEMBERS = {"cas01": "10.20.0.21", "cas02": "10.20.0.22", "cas03": "10.20.0.23"}


def desired_service(
    service: str,
    port: int,
    members: Sequence[str],
    *,
    array: str = "hq",
    index_port: int | None = None,
    enable: Mapping[str, bool | None] | None = None,
    **settings: Any,
) -> DesiredVirtualService:
    """A desired VS of ``array`` on ``VIP:port`` with the named members as real servers."""
    base: dict[str, Any] = {
        "NickName": Owner(array, service).marker(),
        "VStype": "gen",
        "Schedule": "rr",
        "Persist": "src",
        "PersistTimeout": 7200,
        "Idletime": 7200,
    }
    base.update(settings)
    return DesiredVirtualService(
        appliance="lm-hq",
        array=array,
        service=service,
        key=VirtualServiceKey(address=VIP, port=str(port)),
        settings=VirtualServiceSettings.model_validate(base),
        real_servers=tuple(
            DesiredRealServer(
                member=name,
                address=MEMBERS[name],
                port=index_port or port,
                enable=(enable or {}).get(name),
            )
            for name in members
        ),
    )


def observed_service(
    desired: DesiredVirtualService,
    index: int,
    *,
    members: Mapping[str, tuple[str, bool]] | None = None,
    status: str | None = None,
    **overrides: Any,
) -> VirtualService:
    """The live VS an appliance would report for ``desired``.

    ``members`` maps member name → (RS Status, Enable); by default every desired member is Up
    and enabled. A member left out of an explicit mapping is missing from the VS.
    """
    states = (
        members if members is not None else {rs.member: ("Up", True) for rs in desired.real_servers}
    )
    rows = []
    for rs_index, real_server in enumerate(desired.real_servers, start=1):
        if real_server.member not in states:
            continue
        rs_status, enabled = states[real_server.member]
        rows.append(
            {
                "Status": rs_status,
                "VSIndex": index,
                "RsIndex": rs_index,
                "Addr": real_server.address,
                "Port": real_server.port,
                "Weight": 1000,
                "Forward": "nat",
                "Enable": "Y" if enabled else "N",
            }
        )
    any_up = any(rs_status == "Up" and enabled for rs_status, enabled in states.values())
    fields: dict[str, Any] = desired.settings.model_dump(by_alias=True)
    fields.update(
        {
            # A VS with no real servers by design (the redirect) answers itself.
            "Status": status or ("Up" if any_up or not desired.real_servers else "Down"),
            "Index": index,
            "VSAddress": desired.key.address,
            "VSPort": desired.key.port,
            "Protocol": desired.key.protocol,
            "Rs": rows,
        }
    )
    fields.update(overrides)
    return VirtualService.model_validate(fields)


def statistics(connections: Mapping[tuple[int, str, int], int]) -> Statistics:
    """``stats`` with ``ActivConns`` per (VS index, member name, RS port)."""
    rows = [
        {"VSIndex": vs_index, "Addr": MEMBERS[member], "Port": port, "ActivConns": count}
        for (vs_index, member, port), count in connections.items()
    ]
    return Statistics.model_validate({"real_servers": rows})


def two_member_array() -> list[DesiredVirtualService]:
    """An Exchange 2010 array ``hq``: rpc and https with cas01/cas02, an http redirect."""
    return [
        desired_service("rpc", 135, ["cas01", "cas02"], ExtraPorts="60000,60001"),
        desired_service("https", 443, ["cas01", "cas02"], PersistTimeout=2700, Idletime=1800),
        desired_service(
            "http-redirect",
            80,
            [],
            VStype="http",
            Persist=None,
            PersistTimeout=0,
            Idletime=0,
            ErrorCode=302,
            ErrorUrl="https://%h%s",
        ),
    ]


def table_rows(text: str) -> list[list[str]]:
    """Each line of a rendered status as its cells (runs of 2+ spaces separate cells)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def ipv6_service(members: Mapping[str, str]) -> DesiredVirtualService:
    """``https`` of array ``hq`` on ``[2001:db8::10]:443`` with members name → IPv6 address."""
    desired = desired_service("https", 443, [])
    return desired.model_copy(
        update={
            "key": VirtualServiceKey(address="2001:db8::10", port="443"),
            "real_servers": tuple(
                DesiredRealServer(member=name, address=address, port=443)
                for name, address in members.items()
            ),
        }
    )


def status_of(
    desired: Sequence[DesiredVirtualService],
    live: Sequence[VirtualService],
    stats: Statistics | None = None,
) -> ArrayStatus:
    """Array ``hq`` on ``lm-hq`` as status sees it from these live VSs and ``stats``."""
    return array_status("hq", "lm-hq", desired, ApplianceReading.of(live, stats or Statistics()))
