"""Reply contents, independent of the dialect: records of typed fields, rows and ``<Opt>`` lists.

``lmctl.mock.wire`` turns a ``Record`` into APIv1 XML or APIv2 JSON. A ``Record`` may carry a
JSON field order because the appliance orders a few VS elements differently in the two dialects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmctl.mock.layout import (
    RS_FIELDS,
    SUBVS_ROW_FIELDS,
    VS_FIELDS,
    VS_JSON_ORDER,
    FieldValue,
    Opts,
)
from lmctl.mock.simulation import (
    active_connections,
    real_server_status,
    virtual_service_status,
)
from lmctl.mock.state import ApplianceState, MockRealServer, MockVirtualService


@dataclass(frozen=True)
class Rows:
    """Repeated child elements of one name (``<Rs>``, ``<VS>``): a JSON array even of one."""

    records: tuple[Record, ...]
    keep_empty: bool = False


@dataclass
class Record:
    """An element with named children, in XML order; ``json_order`` re-orders them for APIv2."""

    fields: list[tuple[str, Value]] = field(default_factory=list)
    json_order: tuple[str, ...] | None = None

    def add(self, name: str, value: Value) -> None:
        """Append a child element."""
        self.fields.append((name, value))


Value = bool | int | str | Opts | Rows | Record


def _real_server_values(
    state: ApplianceState, service: MockVirtualService, rs: MockRealServer
) -> dict[str, Value]:
    return {
        "Status": real_server_status(state, rs),
        "VSIndex": service.index,
        "RsIndex": rs.rs_index,
        "Addr": rs.address,
        "Port": rs.port,
        "DnsName": "",
        "Forward": rs.forward,
        "Weight": rs.weight,
        "Limit": rs.limit,
        "RateLimit": 0,
        "Follow": 0,
        "Enable": rs.enable,
        "Critical": rs.critical,
        "Nrules": 0,
    }


def real_server_record(
    state: ApplianceState, service: MockVirtualService, rs: MockRealServer
) -> Record:
    """One ``<Rs>`` as ``showrs``, ``addrs`` and the VS listings write it."""
    values = _real_server_values(state, service, rs)
    return Record([(name, values[name]) for name in RS_FIELDS])


def sub_service_row(state: ApplianceState, sub: MockVirtualService) -> Record:
    """The ``<SubVS>`` row a parent lists for one of its SubVSs."""
    nickname = sub.settings.get("NickName")
    row = sub.row_options
    values: dict[str, Value] = {
        "Status": virtual_service_status(state, sub),
        "VSIndex": sub.index,
        "RsIndex": sub.row_rs_index,
        "Name": nickname if isinstance(nickname, str) else "-",
        "Forward": row.get("forward", "nat"),
        "Weight": row.get("weight", 1000),
        "Limit": row.get("limit", 0),
        "Enable": bool(sub.settings.get("Enable", True)),
        "Critical": row.get("critical", False),
    }
    return Record([(name, values[name]) for name in SUBVS_ROW_FIELDS])


def _computed_values(state: ApplianceState, service: MockVirtualService) -> dict[str, FieldValue]:
    force_l7 = bool(service.settings.get("ForceL7"))
    return {
        "Status": virtual_service_status(state, service),
        "Index": service.index,
        "VSAddress": service.address,
        "VSPort": service.port,
        "Layer": 7 if force_l7 else 4,
        "ForceL4": not force_l7,
        "Protocol": service.protocol,
        "MasterVS": len(service.sub_services),
        "MasterVSID": service.master_index,
        "NumberOfRSs": len(service.real_servers) + len(service.sub_services),
    }


def virtual_service_record(state: ApplianceState, service: MockVirtualService) -> Record:
    """A VS as ``showvs``/``addvs``/``modvs`` write it (and each ``<VS>`` of ``listvs``)."""
    computed = _computed_values(state, service)
    record = Record(json_order=VS_JSON_ORDER)
    for spec in VS_FIELDS:
        value = computed[spec.name] if spec.computed else service.settings.get(spec.name)
        if value is None:
            continue
        record.add(spec.name, value)
    if service.real_servers:
        rows = tuple(real_server_record(state, service, rs) for rs in service.real_servers)
        record.add("Rs", Rows(rows))
    subs = [state.services[index] for index in service.sub_services if index in state.services]
    if subs:
        record.add("SubVS", Rows(tuple(sub_service_row(state, sub) for sub in subs)))
    return record


def listing_order(state: ApplianceState) -> list[MockVirtualService]:
    """Top-level VSs by Index, then the SubVSs newest first, as the 7.1 ``listvs`` capture shows."""
    services = sorted(state.services.values(), key=lambda service: service.index)
    parents = [service for service in services if not service.is_sub_service]
    subs = [service for service in reversed(services) if service.is_sub_service]
    return parents + subs


def _stats_totals() -> Record:
    names = (
        "ConnsPerSec",
        "TotalConns",
        "BitsPerSec",
        "TotalBits",
        "BytesPerSec",
        "TotalBytes",
        "PktsPerSec",
        "TotalPackets",
    )
    return Record([(name, 0) for name in names])


def _vs_stats_row(state: ApplianceState, service: MockVirtualService, now: float) -> Record:
    active = sum(active_connections(rs, state.drain_seconds, now) for rs in service.real_servers)
    enabled = 1 if service.settings.get("Enable", True) else 0
    values: list[tuple[str, Value]] = [
        ("VSAddress", service.address or ""),
        ("VSPort", service.port),
        ("VSProt", service.protocol),
        ("Index", service.index),
        ("ErrorCode", str(service.settings.get("ErrorCode", "0"))),
        ("Enable", enabled),
        ("TotalConns", 0),
        ("TotalPkts", 0),
        ("TotalBytes", 0),
        ("TotalBits", 0),
        ("ActiveConns", active),
        ("BytesRead", 0),
        ("BytesWritten", 0),
        ("ConnsPerSec", 0),
        ("WafEnable", 0),
    ]
    return Record(values)


def _rs_stats_row(
    state: ApplianceState, service: MockVirtualService, rs: MockRealServer, now: float
) -> Record:
    counters = ("Persist", "Conns", "Pkts", "Bytes", "Bits", "BytesRead", "BytesWritten")
    values: list[tuple[str, Value]] = [
        ("VSIndex", service.index),
        ("RSIndex", rs.rs_index),
        ("Addr", rs.address),
        ("Port", rs.port),
        ("Enable", 1 if rs.enable else 0),
        ("Weight", rs.weight),
        ("ActivConns", active_connections(rs, state.drain_seconds, now)),
    ]
    values.extend((name, 0) for name in counters)
    values.append(("ConnsPerSec", 0))
    return Record(values)


def statistics_record(state: ApplianceState, now: float) -> Record:
    """``stats``: totals, one ``Vs`` row per VS and one ``Rs`` row per real server."""
    services = sorted(state.services.values(), key=lambda service: service.index)
    vs_rows = tuple(_vs_stats_row(state, service, now) for service in services)
    rs_rows = tuple(
        _rs_stats_row(state, service, rs, now)
        for service in services
        for rs in service.real_servers
    )
    record = Record()
    record.add("VStotals", _stats_totals())
    record.add("Vs", Rows(vs_rows))
    record.add("Rs", Rows(rs_rows))
    return record
