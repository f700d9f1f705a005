"""Real-server commands: addrs, showrs, modrs, delrs, and the global enablers/disablers."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lmctl.mock.errors import invalid
from lmctl.mock.lookup import (
    UNKNOWN_RS,
    find_real_server,
    find_service,
    find_sub_service_row,
    required,
)
from lmctl.mock.records import Record, Rows, real_server_record
from lmctl.mock.result import CommandResult
from lmctl.mock.simulation import change_enable
from lmctl.mock.state import ApplianceState, MockRealServer, MockVirtualService
from lmctl.mock.values import (
    FORWARD_METHODS,
    parse_address,
    parse_choice,
    parse_flag,
    parse_number,
    parse_rs_port,
)

DUPLICATE_RS = "Real server already exists"


def _rs_reply(state: ApplianceState, service: MockVirtualService, rs: MockRealServer) -> Record:
    return Record([("Rs", Rows((real_server_record(state, service, rs),)))])


_OPTION_PARSERS: dict[str, Callable[[str, str], int | bool | str]] = {
    "weight": lambda name, text: parse_number(name, text, 1, 65530),
    "limit": lambda name, text: parse_number(name, text, 0, 100000),
    "forward": lambda name, text: parse_choice(name, text, FORWARD_METHODS),
    "enable": parse_flag,
    "critical": parse_flag,
}


def _given(params: Mapping[str, str], name: str) -> str | None:
    """An optional parameter's value; an empty one counts as not given.

    Clients send empty optional fields (mathlu/loadmaster-go-client rs.go sends ``"newport": ""``
    on every APIv2 ``modrs``).
    """
    value = params.get(name)
    return value if value is not None and value.strip() else None


def _options(params: Mapping[str, str]) -> dict[str, int | bool | str]:
    """The RS options given in ``params``, validated."""
    options: dict[str, int | bool | str] = {}
    for name, parse in _OPTION_PARSERS.items():
        value = _given(params, name)
        if value is not None:
            options[name] = parse(name, value)
    return options


def _has_real_server(service: MockVirtualService, address: str, port: int) -> bool:
    return any(rs.address == address and rs.port == port for rs in service.real_servers)


def add_real_server(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``addrs``: a new RS (Forward nat, Weight 1000, Limit 0, enabled, not critical by default)."""
    service = find_service(state, params)
    address = parse_address(required(params, "rs"))
    port = parse_rs_port(required(params, "rsport"))
    options = _options(params)
    if _has_real_server(service, address, port):
        raise invalid(DUPLICATE_RS)
    rs = MockRealServer(state.next_rs_index, address, port)
    rs.forward = str(options.get("forward", rs.forward))
    rs.weight = int(options.get("weight", rs.weight))
    rs.limit = int(options.get("limit", rs.limit))
    rs.enable = bool(options.get("enable", True))
    rs.critical = bool(options.get("critical", False))
    service.real_servers.append(rs)
    state.next_rs_index += 1
    state.last_change = int(now)
    return CommandResult(data=_rs_reply(state, service, rs), changed=True)


def show_real_server(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``showrs``: one ``<Rs>``."""
    service = find_service(state, params)
    return CommandResult(data=_rs_reply(state, service, find_real_server(service, params)))


def modify_real_server(
    state: ApplianceState, params: Mapping[str, str], now: float
) -> CommandResult:
    """``modrs``: weight, enable, forward, limit, critical, ``newport``; no data in the reply.

    ``rs=!<RsIndex>`` may also name a SubVS row of the parent (Kemp's python-kemptech-api,
    objects.py ``VirtualService.save``, updates a SubVS's weight and enable this way).
    """
    service = find_service(state, params)
    sub = find_sub_service_row(state, service, params)
    if sub is not None:
        return _modify_sub_service_row(sub, _options(params), now, state)
    rs = find_real_server(service, params)
    options = _options(params)
    new_port_text = _given(params, "newport")
    if new_port_text is not None:
        new_port = parse_rs_port(new_port_text)
        if new_port != rs.port and _has_real_server(service, rs.address, new_port):
            raise invalid(DUPLICATE_RS)
        rs.port = new_port
    rs.forward = str(options.get("forward", rs.forward))
    rs.weight = int(options.get("weight", rs.weight))
    rs.limit = int(options.get("limit", rs.limit))
    rs.critical = bool(options.get("critical", rs.critical))
    if "enable" in options:
        change_enable(rs, bool(options["enable"]), state.drain_seconds, now)
    state.last_change = int(now)
    return CommandResult(changed=True)


def _modify_sub_service_row(
    sub: MockVirtualService, options: dict[str, int | bool | str], now: float, state: ApplianceState
) -> CommandResult:
    if "enable" in options:
        sub.settings["Enable"] = bool(options.pop("enable"))
    sub.row_options.update(options)
    state.last_change = int(now)
    return CommandResult(changed=True)


def delete_real_server(
    state: ApplianceState, params: Mapping[str, str], now: float
) -> CommandResult:
    """``delrs``: remove one RS from one VS."""
    service = find_service(state, params)
    service.real_servers.remove(find_real_server(service, params))
    state.last_change = int(now)
    return CommandResult(changed=True)


def _set_everywhere(
    state: ApplianceState, params: Mapping[str, str], now: float, enable: bool
) -> CommandResult:
    address = parse_address(required(params, "rs"))
    port_text = params.get("port") or params.get("rsport")
    port = parse_rs_port(port_text) if port_text else None
    matched = [
        rs
        for service in state.services.values()
        for rs in service.real_servers
        if rs.address == address and (port is None or rs.port == port)
    ]
    if not matched:
        raise invalid(UNKNOWN_RS)
    for rs in matched:
        change_enable(rs, enable, state.drain_seconds, now)
    state.last_change = int(now)
    return CommandResult(changed=True)


def enable_everywhere(
    state: ApplianceState, params: Mapping[str, str], now: float
) -> CommandResult:
    """``enablers``: enable this address (optionally one port) in every VS."""
    return _set_everywhere(state, params, now, True)


def disable_everywhere(
    state: ApplianceState, params: Mapping[str, str], now: float
) -> CommandResult:
    """``disablers``: disable this address (optionally one port) in every VS."""
    return _set_everywhere(state, params, now, False)
