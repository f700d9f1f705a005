"""The API commands the mock carries out, each a function of the state and the call's parameters.

Parameter values are checked the way the appliance checks them (422 on a bad value, 400 on a
missing one), against the mock's own tables; a refused command changes nothing. Parameter names
arrive lower-cased (the appliance matches them without regard to case) and unknown parameters
are ignored, as on a real appliance.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import ipaddress
import json
import zlib
from collections.abc import Callable, Mapping

from lmctl.mock.persistence import state_from_bytes, state_to_json
from lmctl.mock.state import (
    MockRealServer,
    MockState,
    MockVirtualService,
    change_enable,
    is_local,
)
from lmctl.mock.tables import (
    CHECK_TYPES,
    FLAG_FALSE,
    FLAG_TRUE,
    FORWARD_METHODS,
    MAX_EXTRA_PORTS,
    NICKNAME,
    NICKNAME_CHARACTERS,
    PERSISTENCE_MODES,
    PROTOCOLS,
    SCHEDULES,
    VS_TYPES,
    FieldValue,
    new_vs_settings,
)
from lmctl.mock.wire import (
    CommandResult,
    Record,
    Rows,
    listing_order,
    real_server_record,
    statistics_record,
    virtual_service_record,
)

UNKNOWN_VS = "Unknown VS"
UNKNOWN_RS = "Unknown RS"
DUPLICATE_VS = "Virtual service already exists"
DUPLICATE_RS = "Real server already exists"
INVALID_BACKUP = "Invalid backup file"
READ_ONLY_PARAMETERS = frozenset({"version"})
RESTORE_BASE = 1
RESTORE_VS = 2


class ApiRefusal(Exception):
    """A refused command: ``status`` is both the HTTP status and the envelope's ``stat``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def missing(parameter: str) -> ApiRefusal:
    """400: a mandatory parameter is absent."""
    return ApiRefusal(400, f"Missing parameter: {parameter}")


def invalid(message: str) -> ApiRefusal:
    """422: an invalid operation (unknown object, duplicate, bad value)."""
    return ApiRefusal(422, message)


# --- parameter values ----------------------------------------------------------------------


def parse_flag(name: str, text: str) -> bool:
    """``Y``/``N``, ``y``/``n``, ``1``/``0`` (and yes/no, true/false) as bool; empty is refused."""
    lowered = text.strip().lower()
    if lowered in FLAG_TRUE:
        return True
    if lowered in FLAG_FALSE:
        return False
    raise invalid(f"Invalid value for {name}: {text!r} (use Y or N)")


def parse_number(name: str, text: str, low: int, high: int) -> int:
    """An integer within ``low``..``high``."""
    try:
        number = int(text.strip())
    except ValueError:
        raise invalid(f"Invalid value for {name}: {text!r} (a number is required)") from None
    if not low <= number <= high:
        raise invalid(f"Invalid value for {name}: {number} (allowed {low}-{high})")
    return number


def parse_choice(name: str, text: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed`` (case-insensitive), in the appliance's spelling."""
    lowered = text.strip().lower()
    if lowered not in allowed:
        raise invalid(f"Invalid value for {name}: {text!r} (allowed: {', '.join(allowed)})")
    return lowered


def parse_address(text: str) -> str:
    """An IPv4 or IPv6 address in canonical form; 422 ``Invalid address format`` otherwise."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise invalid("Invalid address format") from None


def parse_vs_port(text: str) -> str:
    """A VS port 1-65535, or ``*`` for a wildcard VS."""
    stripped = text.strip()
    if stripped == "*":
        return "*"
    if not stripped.isdigit() or not 1 <= int(stripped) <= 65535:
        raise invalid(f"Invalid port: {text!r}")
    return str(int(stripped))


def parse_rs_port(text: str) -> int:
    """A real-server port, 3-65530 on a real appliance."""
    return parse_number("port", text, 3, 65530)


def parse_protocol(text: str) -> str:
    """``tcp`` or ``udp``."""
    return parse_choice("protocol", text, PROTOCOLS)


def _extra_ports(_: str, text: str) -> str | None:
    """Comma-separated ports and ranges (``8080,8443,9000-9010``), at most 510 ports."""
    stripped = text.strip()
    if not stripped:
        return None
    count = 0
    for part in stripped.split(","):
        low_text, _, high_text = part.strip().partition("-")
        low = parse_number("ExtraPorts", low_text, 1, 65535)
        high = parse_number("ExtraPorts", high_text, low, 65535) if high_text else low
        count += high - low + 1
    if count > MAX_EXTRA_PORTS:
        raise invalid(f"Invalid value for ExtraPorts: {count} ports (at most {MAX_EXTRA_PORTS})")
    return stripped.replace(" ", "")


def _optional_text(_: str, text: str) -> str | None:
    return text if text.strip() else None


def _nickname(name: str, text: str) -> str | None:
    """A service name in the documented characters; empty clears it."""
    if not text.strip():
        return None
    if NICKNAME.match(text) is None:
        raise invalid(f"Invalid value for {name}: {text!r} (allowed: {NICKNAME_CHARACTERS})")
    return text


def _persist(name: str, text: str) -> str | None:
    if text.strip().lower() in {"", "none"}:
        return None
    return parse_choice(name, text, PERSISTENCE_MODES)


def _error_code(name: str, text: str) -> str:
    code = parse_number(name, text or "0", 0, 999)
    if code and not 300 <= code <= 599:
        raise invalid(f"Invalid value for {name}: {code} (0, or an HTTP status 300-599)")
    return str(code)


def _text_number(low: int, high: int) -> Callable[[str, str], str]:
    return lambda name, text: str(parse_number(name, text, low, high))


def _number(low: int, high: int) -> Callable[[str, str], int]:
    return lambda name, text: parse_number(name, text, low, high)


def _choice(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
    return lambda name, text: parse_choice(name, text, allowed)


def _optional_address(_: str, text: str) -> str | None:
    return parse_address(text) if text.strip() else None


def _optional_flag(name: str, text: str) -> bool | None:
    return parse_flag(name, text) if text.strip() else None


ValueParser = Callable[[str, str], FieldValue]

# The VS fields that addvs/modvs accept, by their element name (matched case-insensitively).
VS_PARAMETERS: dict[str, ValueParser] = {
    "NickName": _nickname,
    "Enable": parse_flag,
    "VStype": _choice(VS_TYPES),
    "Schedule": _choice(SCHEDULES),
    "Persist": _persist,
    "PersistTimeout": _text_number(0, 604800),
    "Idletime": _number(0, 86400),
    "CheckType": _choice(CHECK_TYPES),
    "CheckUrl": _optional_text,
    "CheckHost": _optional_text,
    "CheckCodes": _optional_text,
    "CheckPattern": _optional_text,
    "CheckPort": _text_number(0, 65535),
    "CheckUse1.1": parse_flag,
    "ChkInterval": _number(0, 120),
    "ChkTimeout": _number(0, 60),
    "ChkRetryCount": _number(0, 10),
    "ExtraPorts": _extra_ports,
    "Transparent": parse_flag,
    "SubnetOriginating": parse_flag,
    "ErrorCode": _error_code,
    "ErrorUrl": _optional_text,
    "ForceL7": parse_flag,
    "Cookie": _optional_text,
    "AltAddress": _optional_address,
    "DefaultGW": _optional_address,
    "Cache": parse_flag,
    "Compress": parse_flag,
    "MultiConnect": parse_flag,
    "RsMinimum": _number(0, 65535),
    "QoS": _number(0, 4),
    "SSLAcceleration": _optional_flag,
    "CertFile": _optional_text,
    "SSLReencrypt": parse_flag,
}

_VS_PARAMETER_NAMES: dict[str, str] = {name.lower(): name for name in VS_PARAMETERS}


def vs_settings_from(params: Mapping[str, str]) -> dict[str, FieldValue]:
    """The VS fields named in ``params`` (lower-cased names), parsed; others are ignored."""
    settings: dict[str, FieldValue] = {}
    for lowered, text in params.items():
        name = _VS_PARAMETER_NAMES.get(lowered)
        if name is not None:
            settings[name] = VS_PARAMETERS[name](name, text)
    # The layer is one setting the appliance shows three ways: ForceL4 and ForceL7 (opposites in
    # every capture) and the read-only Layer. Clients send only the flag they set
    # (mathlu/loadmaster-go-client vs.go: ``ForceL4`` / ``ForceL7`` with omitempty); a VS is
    # layer 7 unless ForceL4 is set, so ForceL4 decides when both come.
    if "forcel4" in params:
        settings["ForceL7"] = not parse_flag("ForceL4", params["forcel4"])
    return settings


def _given(params: Mapping[str, str], name: str) -> str | None:
    """An optional parameter's value; an empty one counts as not given.

    Clients send empty optional fields (mathlu/loadmaster-go-client rs.go sends ``"newport": ""``
    on every APIv2 ``modrs``).
    """
    value = params.get(name)
    return value if value is not None and value.strip() else None


_RS_OPTION_PARSERS: dict[str, Callable[[str, str], int | bool | str]] = {
    "weight": lambda name, text: parse_number(name, text, 1, 65530),
    "limit": lambda name, text: parse_number(name, text, 0, 100000),
    "forward": lambda name, text: parse_choice(name, text, FORWARD_METHODS),
    "enable": parse_flag,
    "critical": parse_flag,
}


def _rs_options(params: Mapping[str, str]) -> dict[str, int | bool | str]:
    """The RS options given in ``params``, validated."""
    options: dict[str, int | bool | str] = {}
    for name, parse in _RS_OPTION_PARSERS.items():
        value = _given(params, name)
        if value is not None:
            options[name] = parse(name, value)
    return options


# --- finding what a command names ----------------------------------------------------------


def required(params: Mapping[str, str], name: str) -> str:
    """A mandatory parameter's value; 400 when absent or empty."""
    value = params.get(name)
    if value is None or value.strip() == "":
        raise missing(name)
    return value.strip()


def _check_certificates(state: MockState, settings: Mapping[str, FieldValue]) -> None:
    """Every name in ``CertFile`` (space-separated) must be an installed certificate."""
    names = settings.get("CertFile")
    for name in names.split() if isinstance(names, str) else ():
        if name not in state.certificates:
            raise invalid(f"Unknown certificate: {name}")


def _service_by_key(
    state: MockState, address: str, port: str, protocol: str
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


def _find_service(state: MockState, params: Mapping[str, str]) -> MockVirtualService:
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
    except ApiRefusal:
        raise invalid(UNKNOWN_VS) from None
    service = _service_by_key(state, *key)
    if service is None:
        raise invalid(UNKNOWN_VS)
    return service


def _find_sub_service_row(
    state: MockState, parent: MockVirtualService, params: Mapping[str, str]
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


def _find_real_server(service: MockVirtualService, params: Mapping[str, str]) -> MockRealServer:
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


def _non_local(params: Mapping[str, str], current: bool) -> bool:
    """``non_local=1``: this real server may be outside the appliance's own subnets."""
    given = _given(params, "non_local")
    return current if given is None else parse_flag("non_local", given)


def _check_local(state: MockState, address: str, non_local: bool) -> None:
    """A real server outside the appliance's subnets needs ``non_local=1`` (on addrs and modrs,
    as the public clients send it). The appliance's text for this refusal is not recorded in any
    source found; this one is the mock's own (clients key on the 422)."""
    if non_local or is_local(state, address):
        return
    subnets = ", ".join(state.local_subnets or ())
    raise invalid(
        f"Non-local real server {address}: the appliance's subnets are {subnets}; "
        "send non_local=1 to use it"
    )


def _has_real_server(service: MockVirtualService, address: str, port: int) -> bool:
    return any(rs.address == address and rs.port == port for rs in service.real_servers)


# --- virtual services ----------------------------------------------------------------------


def list_services(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``listvs``: every VS and SubVS; ``timestamp`` adds the time of the last change."""
    record = Record()
    if "timestamp" in params:
        record.add("timestamp", state.last_change)
    rows = tuple(virtual_service_record(state, service) for service in listing_order(state))
    record.add("VS", Rows(rows, keep_empty=True))
    return CommandResult(data=record)


def show_service(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``showvs``: one VS, its fields directly under ``Data``."""
    return CommandResult(data=virtual_service_record(state, _find_service(state, params)))


def add_service(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``addvs``: a new VS with 7.2.5x defaults (layer 7, the HTTP type on port 80), overridden by
    any VS field given."""
    address = parse_address(required(params, "vs"))
    port = parse_vs_port(required(params, "port"))
    protocol = parse_protocol(required(params, "prot"))
    settings = new_vs_settings(port, protocol)
    settings.update(vs_settings_from(params))
    _check_certificates(state, settings)
    if _service_by_key(state, address, port, protocol) is not None:
        raise invalid(DUPLICATE_VS)
    service = MockVirtualService(state.next_index, address, port, protocol, settings)
    state.services[service.index] = service
    state.next_index += 1
    state.last_change = int(now)
    return CommandResult(data=virtual_service_record(state, service), changed=True)


def _move(state: MockState, service: MockVirtualService, params: Mapping[str, str]) -> None:
    if service.is_sub_service or service.address is None:
        raise invalid("A SubVS has no address of its own")
    # Empty or 0 means "stay": mathlu/loadmaster-go-client vs.go sends ``"vsaddress": ""`` and
    # ``"vsport": 0`` on every APIv2 modvs that does not move the VS (no omitempty in JSON).
    address = parse_address(params.get("vsaddress") or service.address)
    port = parse_vs_port(params.get("vsport", "").strip().lstrip("0") or service.port)
    existing = _service_by_key(state, address, port, service.protocol)
    if existing is not None and existing is not service:
        raise invalid(DUPLICATE_VS)
    service.address, service.port = address, port


def _create_sub_service(state: MockState, parent: MockVirtualService) -> None:
    sub = MockVirtualService(
        state.next_index,
        None,
        "0",
        parent.protocol,
        new_vs_settings(parent.port, parent.protocol),
        master_index=parent.index,
        row_rs_index=state.next_rs_index,
    )
    state.services[sub.index] = sub
    parent.sub_services.append(sub.index)
    state.next_index += 1
    state.next_rs_index += 1


def modify_service(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``modvs``: set fields; ``vsaddress``/``vsport`` move the VS; ``createsubvs`` adds a SubVS."""
    service = _find_service(state, params)
    if "createsubvs" in params and service.is_sub_service:
        raise invalid("A SubVS cannot have SubVSs")  # checked first: a refusal changes nothing
    settings = vs_settings_from(params)
    _check_certificates(state, settings)
    if "vsaddress" in params or "vsport" in params:
        _move(state, service, params)
    service.settings.update(settings)
    if "createsubvs" in params:
        _create_sub_service(state, service)
    state.last_change = int(now)
    return CommandResult(data=virtual_service_record(state, service), changed=True)


def delete_service(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``delvs``: remove a VS with its SubVSs (or a SubVS from its parent)."""
    service = _find_service(state, params)
    for index in service.sub_services:
        state.services.pop(index, None)
    parent = state.services.get(service.master_index)
    if parent is not None and service.index in parent.sub_services:
        parent.sub_services.remove(service.index)
    del state.services[service.index]
    state.last_change = int(now)
    return CommandResult(changed=True)


# --- real servers --------------------------------------------------------------------------


def _rs_reply(state: MockState, service: MockVirtualService, rs: MockRealServer) -> Record:
    return Record([("Rs", Rows((real_server_record(state, service, rs),)))])


def add_real_server(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``addrs``: a new RS (Forward nat, Weight 1000, Limit 0, enabled, not critical by default);
    one outside the appliance's subnets only with ``non_local=1``."""
    service = _find_service(state, params)
    address = parse_address(required(params, "rs"))
    port = parse_rs_port(required(params, "rsport"))
    options = _rs_options(params)
    non_local = _non_local(params, False)
    if _has_real_server(service, address, port):
        raise invalid(DUPLICATE_RS)
    _check_local(state, address, non_local)
    rs = MockRealServer(state.next_rs_index, address, port, non_local=non_local)
    rs.forward = str(options.get("forward", rs.forward))
    rs.weight = int(options.get("weight", rs.weight))
    rs.limit = int(options.get("limit", rs.limit))
    rs.enable = bool(options.get("enable", True))
    rs.critical = bool(options.get("critical", False))
    service.real_servers.append(rs)
    state.next_rs_index += 1
    state.last_change = int(now)
    return CommandResult(data=_rs_reply(state, service, rs), changed=True)


def show_real_server(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``showrs``: one ``<Rs>``."""
    service = _find_service(state, params)
    return CommandResult(data=_rs_reply(state, service, _find_real_server(service, params)))


def modify_real_server(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``modrs``: weight, enable, forward, limit, critical, ``newport``, ``non_local``; no data in
    the reply. A real server outside the appliance's subnets is refused unless it was added, or is
    now modified, with ``non_local=1``.

    ``rs=!<RsIndex>`` may also name a SubVS row of the parent (Kemp's python-kemptech-api,
    objects.py ``VirtualService.save``, updates a SubVS's weight and enable this way).
    """
    service = _find_service(state, params)
    sub = _find_sub_service_row(state, service, params)
    if sub is not None:
        options = _rs_options(params)
        if "enable" in options:
            sub.settings["Enable"] = bool(options.pop("enable"))
        sub.row_options.update(options)
        state.last_change = int(now)
        return CommandResult(changed=True)
    rs = _find_real_server(service, params)
    options = _rs_options(params)
    non_local = _non_local(params, rs.non_local)
    _check_local(state, rs.address, non_local)
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
    rs.non_local = non_local
    if "enable" in options:
        change_enable(rs, bool(options["enable"]), state.drain_seconds, now)
    state.last_change = int(now)
    return CommandResult(changed=True)


def delete_real_server(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``delrs``: remove one RS from one VS."""
    service = _find_service(state, params)
    service.real_servers.remove(_find_real_server(service, params))
    state.last_change = int(now)
    return CommandResult(changed=True)


def _set_everywhere(
    state: MockState, params: Mapping[str, str], now: float, enable: bool
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


def enable_everywhere(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``enablers``: enable this address (optionally one port) in every VS."""
    return _set_everywhere(state, params, now, True)


def disable_everywhere(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``disablers``: disable this address (optionally one port) in every VS."""
    return _set_everywhere(state, params, now, False)


# --- the appliance as a whole --------------------------------------------------------------


def get_parameter(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``get``: ``<Data><param>value</param></Data>``."""
    name = required(params, "param").lower()
    if name not in state.parameters:
        raise invalid(f"Unknown parameter: {name}")
    return CommandResult(data=Record([(name, state.parameters[name])]))


def set_parameter(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``set``: change a global parameter (``enableapi=no`` turns the API off: 404 from then on)."""
    name = required(params, "param").lower()
    if "value" not in params:
        raise missing("value")
    if name not in state.parameters:
        raise invalid(f"Unknown parameter: {name}")
    if name in READ_ONLY_PARAMETERS:
        raise invalid(f"Parameter {name} is read-only")
    value = params["value"]
    if name == "enableapi":
        value = "yes" if parse_flag(name, value) else "no"
    state.parameters[name] = value
    state.last_change = int(now)
    return CommandResult(changed=True)


def statistics(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``stats``: totals plus ``Vs`` and ``Rs`` rows with live connection counts."""
    return CommandResult(data=statistics_record(state, now))


def backup(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``backup``: the configuration as a gzip-compressed JSON file (a real one is a tar.gz)."""
    document = json.dumps(state_to_json(state), sort_keys=True).encode()
    return CommandResult(binary=gzip.compress(document, mtime=0))


def uploaded_file(params: Mapping[str, str], body: bytes | None, unreadable: str) -> bytes:
    """A file sent with a command: the request body (v1 POST), else base64 in ``data`` (v2);
    422 ``unreadable`` when ``data`` is not base64."""
    if body:
        return body
    encoded = params.get("data")
    if not encoded:
        raise missing("data")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(unreadable) from None


def _backup_file(params: Mapping[str, str], body: bytes | None) -> bytes:
    return uploaded_file(params, body, INVALID_BACKUP)


def restore(
    state: MockState, params: Mapping[str, str], now: float, body: bytes | None
) -> CommandResult:
    """``restore``: ``type`` bitmask 1 base configuration, 2 virtual services (4, 8 accepted)."""
    kinds = parse_number("type", required(params, "type"), 1, 15)
    try:
        saved = state_from_bytes(gzip.decompress(_backup_file(params, body)))
    except (OSError, EOFError, zlib.error, ValueError, RecursionError):
        raise invalid(INVALID_BACKUP) from None
    if kinds & RESTORE_VS:
        state.services = saved.services
        state.next_index = max(state.next_index, saved.next_index)
        state.next_rs_index = max(state.next_rs_index, saved.next_rs_index)
    if kinds & RESTORE_BASE:
        for name, value in saved.parameters.items():
            if name not in READ_ONLY_PARAMETERS and name != "enableapi":
                state.parameters[name] = value
    state.last_change = int(now)
    return CommandResult(changed=True)


Command = Callable[[MockState, Mapping[str, str], float], CommandResult]

COMMANDS: dict[str, Command] = {
    "listvs": list_services,
    "showvs": show_service,
    "addvs": add_service,
    "modvs": modify_service,
    "delvs": delete_service,
    "addrs": add_real_server,
    "showrs": show_real_server,
    "modrs": modify_real_server,
    "delrs": delete_real_server,
    "enablers": enable_everywhere,
    "disablers": disable_everywhere,
    "get": get_parameter,
    "set": set_parameter,
    "stats": statistics,
    "backup": backup,
}
# ``restore`` takes the request body too, so it is dispatched on its own.
KNOWN_COMMANDS = frozenset(COMMANDS) | {"restore"}
WRITE_COMMANDS = frozenset(
    {"addvs", "modvs", "delvs", "addrs", "modrs", "delrs"}
    | {"enablers", "disablers", "set", "restore"}
)
