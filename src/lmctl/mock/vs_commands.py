"""Virtual-service commands: listvs, showvs, addvs, modvs (move, SubVS), delvs."""

from __future__ import annotations

from collections.abc import Mapping

from lmctl.mock.errors import invalid
from lmctl.mock.layout import new_vs_settings
from lmctl.mock.lookup import find_service, find_service_by_key, required
from lmctl.mock.records import Record, Rows, listing_order, virtual_service_record
from lmctl.mock.result import CommandResult
from lmctl.mock.state import ApplianceState, MockVirtualService
from lmctl.mock.values import parse_address, parse_protocol, parse_vs_port, vs_settings_from

DUPLICATE_VS = "Virtual service already exists"


def list_services(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``listvs``: every VS and SubVS; ``timestamp`` adds the time of the last change."""
    record = Record()
    if "timestamp" in params:
        record.add("timestamp", state.last_change)
    rows = tuple(virtual_service_record(state, service) for service in listing_order(state))
    record.add("VS", Rows(rows, keep_empty=True))
    return CommandResult(data=record)


def show_service(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``showvs``: one VS, its fields directly under ``Data``."""
    return CommandResult(data=virtual_service_record(state, find_service(state, params)))


def add_service(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``addvs``: a new VS with 7.2.5x defaults for its port, overridden by any VS field given."""
    address = parse_address(required(params, "vs"))
    port = parse_vs_port(required(params, "port"))
    protocol = parse_protocol(required(params, "prot"))
    settings = new_vs_settings(port, protocol)
    settings.update(vs_settings_from(dict(params)))
    if find_service_by_key(state, address, port, protocol) is not None:
        raise invalid(DUPLICATE_VS)
    service = MockVirtualService(state.next_index, address, port, protocol, settings)
    state.services[service.index] = service
    state.next_index += 1
    state.last_change = int(now)
    return CommandResult(data=virtual_service_record(state, service), changed=True)


def _move(state: ApplianceState, service: MockVirtualService, params: Mapping[str, str]) -> None:
    if service.is_sub_service or service.address is None:
        raise invalid("A SubVS has no address of its own")
    # Empty or 0 means "stay": mathlu/loadmaster-go-client vs.go sends ``"vsaddress": ""`` and
    # ``"vsport": 0`` on every APIv2 modvs that does not move the VS (no omitempty in JSON).
    address = parse_address(params.get("vsaddress") or service.address)
    port = parse_vs_port(params.get("vsport", "").strip().lstrip("0") or service.port)
    existing = find_service_by_key(state, address, port, service.protocol)
    if existing is not None and existing is not service:
        raise invalid(DUPLICATE_VS)
    service.address, service.port = address, port


def _create_sub_service(state: ApplianceState, parent: MockVirtualService) -> None:
    settings = new_vs_settings(parent.port, parent.protocol)
    sub = MockVirtualService(
        state.next_index,
        None,
        "0",
        parent.protocol,
        settings,
        master_index=parent.index,
        row_rs_index=state.next_rs_index,
    )
    state.services[sub.index] = sub
    parent.sub_services.append(sub.index)
    state.next_index += 1
    state.next_rs_index += 1


def modify_service(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``modvs``: set fields; ``vsaddress``/``vsport`` move the VS; ``createsubvs`` adds a SubVS."""
    service = find_service(state, params)
    if "createsubvs" in params and service.is_sub_service:
        raise invalid("A SubVS cannot have SubVSs")  # checked first: a refusal changes nothing
    settings = vs_settings_from(dict(params))
    if "vsaddress" in params or "vsport" in params:
        _move(state, service, params)
    service.settings.update(settings)
    if "createsubvs" in params:
        _create_sub_service(state, service)
    state.last_change = int(now)
    return CommandResult(data=virtual_service_record(state, service), changed=True)


def delete_service(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``delvs``: remove a VS with its SubVSs (or a SubVS from its parent)."""
    service = find_service(state, params)
    for index in service.sub_services:
        state.services.pop(index, None)
    parent = state.services.get(service.master_index)
    if parent is not None and service.index in parent.sub_services:
        parent.sub_services.remove(service.index)
    del state.services[service.index]
    state.last_change = int(now)
    return CommandResult(changed=True)
