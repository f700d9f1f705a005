"""Replies as a real appliance writes them: records of typed fields, then APIv1 XML or APIv2 JSON.

A command builds a ``Record`` (dialect-independent: typed fields, rows, ``<Opt>`` lists); the
HTTP side writes it in the caller's dialect. A ``Record`` may carry a JSON field order because
the appliance orders a few VS elements differently in the two dialects.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from lmctl.mock.state import (
    MockRealServer,
    MockState,
    MockVirtualService,
    active_connections,
    real_server_status,
    virtual_service_status,
)
from lmctl.mock.tables import (
    JSON_ONLY_OMITS,
    RS_FIELDS,
    SUBVS_ROW_FIELDS,
    VS_FIELDS,
    VS_JSON_ORDER,
    FieldValue,
    Names,
    Opts,
)

XML_PROLOG = '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n'
XML_CONTENT_TYPE = "text/xml"
JSON_CONTENT_TYPE = "application/json"
BINARY_CONTENT_TYPE = "application/octet-stream"
COMPLETED = "Command completed ok"
_EOL = "\r\n"


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


@dataclass(frozen=True)
class CommandResult:
    """A successful command: a data record, a binary file (``backup``) or ``Command completed ok``.

    ``changed`` says the configuration changed (the state file is written and the call counts as a
    write in the log).
    """

    data: Record | None = None
    binary: bytes | None = None
    changed: bool = False


# --- what the records hold -----------------------------------------------------------------


def real_server_record(state: MockState, service: MockVirtualService, rs: MockRealServer) -> Record:
    """One ``<Rs>`` as ``showrs``, ``addrs`` and the VS listings write it."""
    values: dict[str, Value] = {
        "Status": real_server_status(state, service, rs),
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
        "Nrules": len(rs.rules),
    }
    return _with_rules(Record([(name, values[name]) for name in RS_FIELDS]), rs.rules)


def _with_rules(row: Record, rules: list[str]) -> Record:
    """A real-server or SubVS row with its assigned content rules, when it has any."""
    if rules:
        row.add("MatchRules", Names(rules))
    return row


def _sub_service_row(state: MockState, sub: MockVirtualService) -> Record:
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
    return _with_rules(Record([(name, values[name]) for name in SUBVS_ROW_FIELDS]), sub.row_rules)


def _computed_values(state: MockState, service: MockVirtualService) -> dict[str, FieldValue]:
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


def virtual_service_record(state: MockState, service: MockVirtualService) -> Record:
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
        record.add("SubVS", Rows(tuple(_sub_service_row(state, sub) for sub in subs)))
    return record


def listing_order(state: MockState) -> list[MockVirtualService]:
    """Top-level VSs by Index, then the SubVSs newest first, as the 7.1 ``listvs`` capture shows."""
    services = sorted(state.services.values(), key=lambda service: service.index)
    parents = [service for service in services if not service.is_sub_service]
    subs = [service for service in reversed(services) if service.is_sub_service]
    return parents + subs


_STATS_TOTALS = (
    "ConnsPerSec",
    "TotalConns",
    "BitsPerSec",
    "TotalBits",
    "BytesPerSec",
    "TotalBytes",
    "PktsPerSec",
    "TotalPackets",
)
_RS_STATS_COUNTERS = ("Persist", "Conns", "Pkts", "Bytes", "Bits", "BytesRead", "BytesWritten")


def _vs_stats_row(state: MockState, service: MockVirtualService, now: float) -> Record:
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
    state: MockState, service: MockVirtualService, rs: MockRealServer, now: float
) -> Record:
    values: list[tuple[str, Value]] = [
        ("VSIndex", service.index),
        ("RSIndex", rs.rs_index),
        ("Addr", rs.address),
        ("Port", rs.port),
        ("Enable", 1 if rs.enable else 0),
        ("Weight", rs.weight),
        ("ActivConns", active_connections(rs, state.drain_seconds, now)),
    ]
    values.extend((name, 0) for name in _RS_STATS_COUNTERS)
    values.append(("ConnsPerSec", 0))
    return Record(values)


def statistics_record(state: MockState, now: float) -> Record:
    """``stats``: totals, one ``Vs`` row per VS and one ``Rs`` row per real server."""
    services = sorted(state.services.values(), key=lambda service: service.index)
    vs_rows = tuple(_vs_stats_row(state, service, now) for service in services)
    rs_rows = tuple(
        _rs_stats_row(state, service, rs, now)
        for service in services
        for rs in service.real_servers
    )
    record = Record()
    record.add("VStotals", Record([(name, 0) for name in _STATS_TOTALS]))
    record.add("Vs", Rows(vs_rows))
    record.add("Rs", Rows(rs_rows))
    return record


# --- APIv1: XML ----------------------------------------------------------------------------


def _xml_text(value: bool | int | str) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    return escape(str(value))


def _xml_children(record: Record, out: list[str]) -> None:
    for name, value in record.fields:
        _xml_element(name, value, out)


def _xml_element(name: str, value: Value, out: list[str]) -> None:
    if isinstance(value, Rows):
        for row in value.records:
            out.append(f"<{name}>{_EOL}")
            _xml_children(row, out)
            out.append(f"</{name}>{_EOL}")
    elif isinstance(value, Record):
        out.append(f"<{name}>{_EOL}")
        _xml_children(value, out)
        out.append(f"</{name}>{_EOL}")
    elif isinstance(value, Opts):
        child = "Name" if isinstance(value, Names) else "Opt"
        out.append(f"<{name}>{_EOL}")
        out.extend(f"<{child}>{escape(option)}</{child}>{_EOL}" for option in value)
        out.append(f"</{name}>{_EOL}")
    else:
        out.append(f"<{name}>{_xml_text(value)}</{name}>{_EOL}")


def _encode_xml(text: str) -> bytes:
    return (XML_PROLOG + text).encode("iso-8859-1", errors="xmlcharrefreplace")


def xml_success(result: CommandResult) -> bytes:
    """``<Response stat="200" code="ok">`` with ``<Success><Data>`` or ``Command completed ok``."""
    if result.data is None:
        return _encode_xml(
            f'<Response stat="200" code="ok">{_EOL}<Success>{COMPLETED}</Success>{_EOL}'
            f"</Response>{_EOL}"
        )
    out: list[str] = [f'<Response stat="200" code="ok">{_EOL}<Success><Data>']
    _xml_children(result.data, out)
    out.append(f"</Data></Success>{_EOL}</Response>{_EOL}")
    return _encode_xml("".join(out))


def xml_error(status: int, message: str) -> bytes:
    """``<Response stat="422" code="fail"><Error>...</Error></Response>``."""
    return _encode_xml(
        f'<Response stat="{status}" code="fail">{_EOL}<Error>{escape(message)}</Error>{_EOL}'
        f"</Response>{_EOL}"
    )


# --- APIv2: JSON ---------------------------------------------------------------------------


def _json_value(value: Value) -> Any:
    if isinstance(value, Record):
        return _json_object(value)
    if isinstance(value, Opts):
        return list(value)
    if isinstance(value, Rows):
        return [_json_object(row) for row in value.records]
    return value


def _json_included(value: Value) -> bool:
    return not (isinstance(value, Rows) and not value.records and not value.keep_empty)


def _json_fields(record: Record) -> list[tuple[str, Value]]:
    fields = [(name, value) for name, value in record.fields if _json_included(value)]
    if record.json_order is None:
        return fields
    position = {name: place for place, name in enumerate(record.json_order)}
    known = [item for item in fields if item[0] in position]
    known.sort(key=lambda item: position[item[0]])
    rest = [item for item in fields if item[0] not in position and item[0] not in JSON_ONLY_OMITS]
    return known + rest


def _json_object(record: Record) -> dict[str, Any]:
    return {name: _json_value(value) for name, value in _json_fields(record)}


def json_success(result: CommandResult) -> bytes:
    """``{"code": 200, ...fields..., "status": "ok"}``; a backup as base64 in ``data``."""
    body: dict[str, Any] = {"code": 200}
    if result.binary is not None:
        body["data"] = base64.b64encode(result.binary).decode("ascii")
    elif result.data is None:
        body["message"] = COMPLETED
    else:
        body.update(_json_object(result.data))
    body["status"] = "ok"
    return json.dumps(body).encode("utf-8")


def json_error(status: int, message: str) -> bytes:
    """``{"code": 422, "message": "Unknown VS", "status": "fail"}``."""
    return json.dumps({"code": status, "message": message, "status": "fail"}).encode("utf-8")
