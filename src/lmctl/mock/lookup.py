"""Finding what a command names: a VS by address/port/protocol or Index, an RS by address/port or
``!RsIndex``.
"""

from __future__ import annotations

from collections.abc import Mapping

from lmctl.mock.errors import CommandError, invalid, missing
from lmctl.mock.state import ApplianceState, MockRealServer, MockVirtualService
from lmctl.mock.values import parse_address, parse_protocol, parse_rs_port, parse_vs_port

UNKNOWN_VS = "Unknown VS"
UNKNOWN_RS = "Unknown RS"


def required(params: Mapping[str, str], name: str) -> str:
    """A mandatory parameter's value; 400 when absent or empty."""
    value = params.get(name)
    if value is None or value.strip() == "":
        raise missing(name)
    return value.strip()


def find_service_by_key(
    state: ApplianceState, address: str, port: str, protocol: str
) -> MockVirtualService | None:
    """The top-level VS listening on address/port/protocol, if any."""
    for service in state.services.values():
        if (
            service.address == address
            and service.port == port
            and service.protocol == protocol
            and not service.is_sub_service
        ):
            return service
    return None


def find_service(state: ApplianceState, params: Mapping[str, str]) -> MockVirtualService:
    """The VS named by ``vs`` + ``port`` (+ ``prot``, default tcp), or by ``vs=<Index>`` alone."""
    vs = required(params, "vs")
    port = params.get("port")
    if (port is None or not port.strip()) and vs.isdigit():
        service = state.services.get(int(vs))
        if service is None:
            raise invalid(UNKNOWN_VS)
        return service
    if port is None or not port.strip():
        raise missing("port")
    try:
        key = (parse_address(vs), parse_vs_port(port), parse_protocol(params.get("prot", "tcp")))
    except CommandError:
        raise invalid(UNKNOWN_VS) from None
    service = find_service_by_key(state, *key)
    if service is None:
        raise invalid(UNKNOWN_VS)
    return service


def find_sub_service_row(
    state: ApplianceState, parent: MockVirtualService, params: Mapping[str, str]
) -> MockVirtualService | None:
    """The SubVS whose row in ``parent`` is named by ``rs=!<RsIndex>``, if it is one."""
    rs = params.get("rs", "").strip()
    if not rs.startswith("!") or not rs[1:].isdigit():
        return None
    for index in parent.sub_services:
        sub = state.services.get(index)
        if sub is not None and sub.row_rs_index == int(rs[1:]):
            return sub
    return None


def find_real_server(service: MockVirtualService, params: Mapping[str, str]) -> MockRealServer:
    """The RS named by ``rs=<address>&rsport=<port>`` or ``rs=!<RsIndex>`` within ``service``."""
    rs = required(params, "rs")
    if rs.startswith("!"):
        index = rs[1:]
        for real_server in service.real_servers:
            if index.isdigit() and real_server.rs_index == int(index):
                return real_server
        raise invalid(UNKNOWN_RS)
    address = parse_address(rs)
    port = parse_rs_port(required(params, "rsport"))
    for real_server in service.real_servers:
        if real_server.address == address and real_server.port == port:
            return real_server
    raise invalid(UNKNOWN_RS)
