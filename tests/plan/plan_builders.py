"""Hand-built desired and observed virtual services for the planning tests."""

from __future__ import annotations

from typing import Any

from lmctl.appliance.state import Owner
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import VirtualService, VirtualServiceKey, VirtualServiceSettings

HTTPS_SETTINGS: dict[str, Any] = {
    "vs_type": "gen",
    "schedule": "rr",
    "persist": "src",
    "persist_timeout": 2700,
    "idle_time": 1800,
    "check_type": "https",
    "check_url": "/owa/auth/logon.aspx",
    "transparent": False,
    "subnet_originating": True,
}


def key(address: str = "10.0.1.10", port: str = "443", protocol: str = "tcp") -> VirtualServiceKey:
    """A VS key."""
    return VirtualServiceKey.model_validate(
        {"address": address, "port": port, "protocol": protocol}
    )


def members(*addresses: str, port: int = 443, **fields: Any) -> tuple[DesiredRealServer, ...]:
    """Desired members cas01, cas02, ... at the given addresses."""
    return tuple(
        DesiredRealServer(member=f"cas{n:02d}", address=address, port=port, **fields)
        for n, address in enumerate(addresses, start=1)
    )


def desired(
    array: str = "hq",
    service: str = "https",
    *,
    at: VirtualServiceKey | None = None,
    real_servers: tuple[DesiredRealServer, ...] = (),
    appliance: str = "lm-hq",
    **settings: Any,
) -> DesiredVirtualService:
    """A desired VS carrying its marker, with HTTPS-like defaults overridable per field."""
    values = {**HTTPS_SETTINGS, **settings, "nickname": Owner(array, service).marker()}
    return DesiredVirtualService(
        appliance=appliance,
        array=array,
        service=service,
        key=at or key(),
        settings=VirtualServiceSettings.model_validate(values),
        real_servers=real_servers,
    )


def observed_from(
    want: DesiredVirtualService,
    *,
    index: int = 1,
    at: VirtualServiceKey | None = None,
    rs_enable: dict[str, bool] | None = None,
    **overrides: Any,
) -> VirtualService:
    """The VS an appliance would report once ``want`` is applied, with overrides (wire names)."""
    where = at or want.key
    rows = [
        {
            "Status": "Up",
            "VSIndex": index,
            "RsIndex": n,
            "Addr": rs.address,
            "Port": rs.port,
            "Forward": rs.forward,
            "Weight": rs.weight,
            "Enable": "Y" if (rs_enable or {}).get(rs.address, rs.enable is not False) else "N",
        }
        for n, rs in enumerate(want.real_servers, start=1)
    ]
    fields = {
        **want.settings.model_dump(by_alias=True),
        "Status": "Up",
        "Index": index,
        "VSAddress": where.address,
        "VSPort": where.port,
        "Protocol": where.protocol,
        "Rs": rows,
        **overrides,
    }
    return VirtualService.model_validate(fields)


def unmarked(
    address: str, port: str, *, index: int = 90, nickname: str | None = "OWA-legacy"
) -> VirtualService:
    """A VS lmctl does not own, with one real server."""
    return VirtualService.model_validate(
        {
            "Status": "Up",
            "Index": index,
            "VSAddress": address,
            "VSPort": port,
            "Protocol": "tcp",
            "NickName": nickname,
            "Schedule": "lc",
            "Rs": [{"Addr": "10.0.9.1", "Port": int(port), "Enable": "Y", "Weight": 1000}],
        }
    )
