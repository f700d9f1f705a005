"""Typed models of what a LoadMaster holds: virtual services, real servers, statistics.

Replies are normalised here, once: ``Y``/``N``, ``1``/``0`` and JSON booleans become ``bool``;
numbers become ``int``; ``VSPort`` stays a string (it can be ``*``); an absent ``Persist`` or an
explicit ``none`` becomes ``None``; a single row (``Rs``, ``SubVS``, ``stats`` rows) becomes a
list of one; the spelling variants of ``stats`` are accepted; unknown elements are ignored. So
``VirtualService.model_validate(row)`` takes a reply row as it is. The models' defaults serve
building values in code; a reply row is never defaulted where lmctl compares: the reader
(``lmctl.loadmaster.wire.checked_virtual_service``) refuses a row that lacks an element listed
in ``REQUIRED_VS_ELEMENTS``, ``REQUIRED_SETTING_ELEMENTS`` or ``REQUIRED_RS_ELEMENTS``, and only
the texts real firmware leaves out when unset (``UNSET_WHEN_ABSENT``) may be missing.
Field aliases are the appliance's own element names, so the same names serve reading a reply
and writing a ``addvs``/``modvs`` parameter; the parameters that name a VS or a real server in a
command are built here too.

IP addresses have one spelling (``normalised_address``): an appliance may report
``2001:DB8:0:0::50`` for what a spec writes ``2001:db8::50``, and both sides are normalised when
their models are built, so plan, apply and status compare equal values and never "move" a
service or a member to the address it already has.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from lmctl.loadmaster.redact import scrubbed_excerpt


# Replies repeat a few hundred distinct addresses thousands of times (one per VS and RS row).
@lru_cache(maxsize=16384)
def normalised_address(text: str) -> str:
    """The compressed, lower-case text of an IP literal; any other text unchanged.

    An IPv4-mapped IPv6 address (``::ffff:10.1.1.1``) is its IPv4 host (``10.1.1.1``), as the
    spec rules treat it (``lmctl.specs.array.ip_value``).
    """
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.compressed
    return address.compressed


def normalised_optional_address(text: str | None) -> str | None:
    """``normalised_address`` of an address that may be absent (a SubVS has none)."""
    return None if text is None else normalised_address(text)


def host_port(address: str, port: int) -> str:
    """``10.0.0.21:443``, or ``[2001:db8::21]:443`` for an IPv6 address (its last group is not
    the port)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


Protocol = Literal["tcp", "udp"]
Scheduling = Literal["rr", "wrr", "lc", "wlc", "fixed", "adaptive", "sh"]
SCHEDULING_METHODS: tuple[str, ...] = get_args(Scheduling)
# ``Persist`` values the appliance accepts (``none`` = no persistence).
Persistence = Literal[
    "none",
    "src",
    "super",
    "super-src",
    "ssl",
    "cookie",
    "active-cookie",
    "cookie-src",
    "active-cook-src",
    "cookie-hash",
    "url",
    "query-hash",
    "host",
    "header",
    "rdp",
    "rdp-src",
    "rdp-sb",
    "udpsip",
]
PERSISTENCE_MODES: tuple[str, ...] = get_args(Persistence)
CheckType = Literal[
    "tcp", "icmp", "http", "https", "smtp", "nntp", "ftp", "telnet", "pop3", "imap", "rdp", "ldap",
    "none",
]  # fmt: skip
CHECK_TYPES: tuple[str, ...] = get_args(CheckType)


def parse_flag(value: Any) -> bool:
    """A LoadMaster flag as bool: ``Y``/``N`` (v1), booleans (v2), ``1``/``0`` (``stats``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"y", "yes", "1", "true", "on"}:
        return True
    if text in {"n", "no", "0", "false", "off", ""}:
        return False
    raise ValueError(f"not a LoadMaster flag: {value!r}")


def parse_optional_text(value: Any) -> str | None:
    """Empty text and the appliance's ``none`` mean unset."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text == "" or text.lower() == "none" else text


def parse_raw_text(value: Any) -> str | None:
    """Text exactly as the appliance sent it (empty means unset): a NickName is compared to
    lmctl's marker character for character, so nothing around it may be stripped."""
    if value is None:
        return None
    text = str(value)
    return None if text == "" else text


def parse_port(value: Any) -> str:
    """A VS port as text: ``443``, or ``*`` for a wildcard VS.

    Text or a JSON integer only: ``str()`` of anything else (``Infinity``, ``1.5``, a list,
    null) would make a port no appliance has, and a key that never matches.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"not a port: {value!r}")
    return str(value).strip()


def parse_lower(value: Any) -> Any:
    """A keyword the appliance may spell in any case (``tcp``, ``TCP``) in lower case."""
    return value.strip().lower() if isinstance(value, str) else value


def parse_int(value: Any) -> int:
    """An integer field, tolerating the empty text some firmware sends for zero."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text else 0


def as_list(value: Any) -> list[Any]:
    """One element or a list of them, as a list (a single ``<VS>`` or ``<Rs>`` is not wrapped).

    A tuple is a list too: the row fields hold tuples, so a model built from another's rows
    passes them as they are.
    """
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


def parse_certificate_names(value: Any) -> Any:
    """``CertFile`` as one space-separated text, whether it came as text (v1) or a list (v2)."""
    if isinstance(value, list | tuple):
        return " ".join(str(name) for name in value) or None
    return parse_optional_text(value)


def parse_rule_names(value: Any) -> Any:
    """The rules assigned to a row: ``<MatchRules><Name>a</Name>...</MatchRules>`` (v1, one
    ``Name`` or a list) or ``"MatchRules": ["a", ...]`` (v2); absent is none."""
    if value is None or value == "":
        return ()
    if isinstance(value, Mapping):
        value = value.get("Name", ())
    return tuple(str(name) for name in as_list(value))


Flag = Annotated[bool, BeforeValidator(parse_flag)]
OptionalText = Annotated[str | None, BeforeValidator(parse_optional_text)]
RawText = Annotated[str | None, BeforeValidator(parse_raw_text)]
PortText = Annotated[str, BeforeValidator(parse_port)]
Int = Annotated[int, BeforeValidator(parse_int)]
# An IP literal in its one spelling (``2001:DB8:0::11`` → ``2001:db8::11``), so addresses compare
# as addresses everywhere; a host name stays as given.
Address = Annotated[str, AfterValidator(normalised_address)]
OptionalAddress = Annotated[OptionalText, AfterValidator(normalised_optional_address)]
T = TypeVar("T")
Rows = Annotated[tuple[T, ...], BeforeValidator(as_list)]


class _WireModel(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class VirtualServiceKey(BaseModel):
    """How lmctl identifies a virtual service: address, port and protocol (never the Index)."""

    model_config = ConfigDict(frozen=True)

    address: Address
    port: str
    protocol: Protocol = "tcp"

    def __str__(self) -> str:
        # An IPv6 address is bracketed so its last group cannot be read as the port.
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}/{self.protocol}"

    def params(self) -> dict[str, str]:
        """The ``vs``/``port``/``prot`` parameters that name this VS in an API call."""
        return {"vs": self.address, "port": self.port, "prot": self.protocol}


class VirtualServiceSettings(_WireModel):
    """Every virtual-service setting that lmctl manages, and nothing else.

    Plan compares only these fields; apply writes them with their aliases as parameter names.
    """

    nickname: RawText = Field(None, alias="NickName")
    enable: Flag = Field(True, alias="Enable")
    vs_type: str = Field("gen", alias="VStype")
    # None on the desired side: not managed (a fixed redirect has no real server to schedule).
    schedule: str | None = Field("rr", alias="Schedule")
    persist: OptionalText = Field(None, alias="Persist")
    persist_timeout: Int = Field(0, alias="PersistTimeout")
    idle_time: Int = Field(0, alias="Idletime")
    check_type: str = Field("tcp", alias="CheckType")
    check_url: OptionalText = Field(None, alias="CheckUrl")
    check_port: Int = Field(0, alias="CheckPort")
    extra_ports: OptionalText = Field(None, alias="ExtraPorts")
    # The layer is written as the force flags and read back from ``Layer`` (``VStype`` does not
    # choose it): a VS runs at layer 7 unless ``ForceL4`` is set.
    layer: Annotated[Literal[4, 7], BeforeValidator(parse_int)] = Field(7, alias="Layer")
    # Only meaningful at layer 7: a layer 4 VS is always transparent. None: not managed (lmctl
    # neither writes nor compares it), as for a layer 4 service.
    transparent: Flag | None = Field(False, alias="Transparent")
    subnet_originating: Flag | None = Field(True, alias="SubnetOriginating")
    error_code: Int = Field(0, alias="ErrorCode")
    error_url: OptionalText = Field(None, alias="ErrorUrl")
    # The per-protocol layout's (docs/layouts.md): TLS terminated on the appliance with the named
    # certificate and re-encrypted to the servers; HTTP/1.1 checks naming the namespace as Host.
    # None: not managed, as on every VS of the single-service layout.
    check_host: OptionalText = Field(None, alias="CheckHost")
    check_use_1_1: Flag | None = Field(None, alias="CheckUse1.1")
    ssl_acceleration: Flag | None = Field(None, alias="SSLAcceleration")
    cert_file: Annotated[str | None, BeforeValidator(parse_certificate_names)] = Field(
        None, alias="CertFile"
    )
    ssl_reencrypt: Flag | None = Field(None, alias="SSLReencrypt")


MANAGED_VS_FIELDS: tuple[str, ...] = tuple(VirtualServiceSettings.model_fields)

# Every setting managed only when the desired value is set (see ``differing_fields``): the
# layer 7 networking ones, the per-protocol layout's TLS and check settings, and the
# scheduling of a VS without real servers.
MANAGED_WHEN_SET: frozenset[str] = frozenset(
    {
        "transparent",
        "subnet_originating",
        "schedule",
        "check_host",
        "check_use_1_1",
        "ssl_acceleration",
        "cert_file",
        "ssl_reencrypt",
    }
)


def differing_fields(
    observed: VirtualServiceSettings, desired: VirtualServiceSettings
) -> tuple[str, ...]:
    """The managed fields whose values differ, in the model's order; a setting managed only when
    set (``MANAGED_WHEN_SET``) that the desired side leaves unset (None) is not compared."""
    return tuple(
        name
        for name in MANAGED_VS_FIELDS
        if not (name in MANAGED_WHEN_SET and getattr(desired, name) is None)
        and getattr(observed, name) != getattr(desired, name)
    )


def written_fields(settings: VirtualServiceSettings) -> tuple[str, ...]:
    """The fields ``addvs`` writes for ``settings``: every managed one but the unset ones of
    ``MANAGED_WHEN_SET``."""
    return tuple(
        name
        for name in MANAGED_VS_FIELDS
        if not (name in MANAGED_WHEN_SET and getattr(settings, name) is None)
    )


def wire_name(field: str) -> str:
    """The appliance's element/parameter name of a managed field (``idle_time`` → ``Idletime``)."""
    alias = VirtualServiceSettings.model_fields[field].alias
    assert alias is not None
    return alias


def wire_value(value: object) -> str:
    """A setting as the appliance takes it in a parameter: flags ``Y``/``N``, unset as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


# How an unset setting is written: empty clears a text, but an empty ``Persist`` is not
# understood as "no persistence" (the appliance wants the word ``none``).
_UNSET_ON_THE_WIRE = {"persist": "none"}


def settings_params(
    settings: VirtualServiceSettings, fields: Iterable[str] | None = None
) -> dict[str, str]:
    """The ``addvs``/``modvs`` parameters that write ``fields`` (default: ``written_fields``).

    The layer is written as both force flags, explicitly, never left to the firmware's default.
    """
    params: dict[str, str] = {}
    for field in written_fields(settings) if fields is None else fields:
        value = getattr(settings, field)
        if field == "layer":
            params["ForceL4"] = wire_value(value == 4)
            params["ForceL7"] = wire_value(value == 7)
            continue
        unset = _UNSET_ON_THE_WIRE.get(field, "")
        params[wire_name(field)] = unset if value is None else wire_value(value)
    return params


class _RowInVirtualService(_WireModel):
    """What real-server rows and SubVS rows share: their place in the parent and its settings."""

    status: str = Field("Down", alias="Status")
    rs_index: Int = Field(0, alias="RsIndex")
    forward: str = Field("nat", alias="Forward")
    weight: Int = Field(1000, alias="Weight")
    limit: Int = Field(0, alias="Limit")
    enable: Flag = Field(True, alias="Enable")
    critical: Flag = Field(False, alias="Critical")
    # Content rules assigned to this row (``addrsrule``): how a layer 7 parent sends a path to
    # a real server or SubVS.
    match_rules: Annotated[tuple[str, ...], BeforeValidator(parse_rule_names)] = Field(
        (), alias="MatchRules"
    )


class RealServer(_RowInVirtualService):
    """A real server inside one virtual service, as the appliance reports it."""

    vs_index: Int = Field(0, alias="VSIndex")
    address: Address = Field(alias="Addr")
    port: Int = Field(alias="Port")
    dns_name: OptionalText = Field(None, alias="DnsName")

    @property
    def is_up(self) -> bool:
        """True when the appliance's health check currently passes."""
        return self.status.lower() == "up"


class SubVirtualServiceRow(_RowInVirtualService):
    """A SubVS as its parent lists it: a pointer (``VSIndex``) to the SubVS's own VS entry."""

    vs_index: Int = Field(alias="VSIndex")
    name: OptionalText = Field(None, alias="Name")


class VirtualService(VirtualServiceSettings):
    """A virtual service as the appliance reports it: managed settings plus live facts.

    A SubVS is a ``VirtualService`` too, with no address of its own and ``master_vs_id`` set.
    """

    status: str = Field("Down", alias="Status")
    index: Int = Field(alias="Index")
    address: OptionalAddress = Field(None, alias="VSAddress")
    port: PortText = Field("0", alias="VSPort")
    protocol: Annotated[Protocol, BeforeValidator(parse_lower)] = Field("tcp", alias="Protocol")
    force_l4: Flag = Field(False, alias="ForceL4")
    force_l7: Flag = Field(False, alias="ForceL7")
    master_vs: Int = Field(0, alias="MasterVS")
    master_vs_id: Int = Field(0, alias="MasterVSID")
    number_of_real_servers: Int = Field(0, alias="NumberOfRSs")
    real_servers: Rows[RealServer] = Field((), alias="Rs")
    sub_services: Rows[SubVirtualServiceRow] = Field((), alias="SubVS")
    # What lmctl does not manage but must see to leave alone on a VS it adopts (Kemp's API
    # guide, "List the Virtual Service Details": listvs reports the rule counts and the WAF
    # flag; the 7.2.5x captures add ``InterceptMode``, ``EspEnabled``, ``SSLAcceleration``).
    content_rules: Int = Field(0, alias="NRules")
    request_rules: Int = Field(0, alias="NRequestRules")
    response_rules: Int = Field(0, alias="NResponseRules")
    match_body_rules: Int = Field(0, alias="NMatchBodyRules")
    pre_process_rules: Int = Field(0, alias="NPreProcessRules")
    esp_enabled: Flag = Field(False, alias="EspEnabled")
    waf_mode: Int = Field(0, alias="InterceptMode")
    legacy_waf: Flag = Field(False, alias="Intercept")
    # ``SSLAcceleration``, ``CertFile`` and ``SSLReencrypt`` are read into the managed settings
    # (``VirtualServiceSettings``), None when the appliance leaves them out.

    @property
    def cert_files(self) -> tuple[str, ...]:
        """The certificates ``CertFile`` names (a space-separated list on the wire)."""
        return tuple(self.cert_file.split()) if self.cert_file else ()

    @model_validator(mode="before")
    @classmethod
    def _layer_from_force_flags(cls, data: Any) -> Any:
        """The layer of a row without ``Layer``: from ``ForceL4`` when given, else from
        ``ForceL7`` as firmware 7.1 sends it (no ``Layer``, no ``ForceL4``; see
        ``layer_problem``), else 7, the appliance's default."""
        if isinstance(data, dict) and "Layer" not in data and "layer" not in data:
            if "ForceL4" in data:
                layer = 4 if parse_flag(data["ForceL4"]) else 7
            elif "ForceL7" in data:
                layer = 7 if parse_flag(data["ForceL7"]) else 4
            else:
                layer = 7
            return {**data, "Layer": layer}
        return data

    @property
    def is_sub_service(self) -> bool:
        """True for a SubVS (reached only through its parent)."""
        return self.master_vs_id != 0

    @property
    def key(self) -> VirtualServiceKey | None:
        """The address/port/protocol key, or None for a SubVS, which has no address."""
        if self.address is None or self.is_sub_service:
            return None
        return VirtualServiceKey(address=self.address, port=self.port, protocol=self.protocol)

    @property
    def is_up(self) -> bool:
        """True when the appliance reports the VS Up."""
        return self.status.lower() == "up"

    def settings(self) -> VirtualServiceSettings:
        """Only the managed settings of this VS, for comparison with a desired one."""
        return VirtualServiceSettings.model_validate(
            {name: getattr(self, name) for name in MANAGED_VS_FIELDS}
        )


# -- what a real appliance can report ---------------------------------------------------------

# The range of every number lmctl checks in a ``listvs``/``showvs`` row (docs/client.md, "What
# lmctl checks in a reply", cites where each comes from). A value outside it is no appliance's:
# the reply is refused rather than acted on. ``None``: no upper bound is documented.
REPLY_LIMITS: dict[str, tuple[int, int | None]] = {
    "Index": (1, None),
    "VSPort": (1, 65535),
    "Idletime": (0, 86400),
    "PersistTimeout": (0, 2419200),
    "CheckPort": (0, 65535),
    "Weight": (1, 65530),
    "Port": (3, 65530),
}
# Elements a VS row of its own must carry; a SubVS (``MasterVSID`` set) has no address of its own
# and reports ``VSPort`` 0.
REQUIRED_VS_ELEMENTS: tuple[str, ...] = ("VSAddress", "VSPort", "Protocol")
# Managed texts that real firmware leaves out when they are unset (every capture in
# tests/fixtures/loadmaster omits an unset NickName, Persist, CheckUrl, ExtraPorts, ErrorUrl;
# CheckHost, SSLAcceleration and CertFile appear only when set, fw7.1-showvs-sslcerts.xml):
# absent is the appliance's own spelling of unset, so it reads as unset. CheckUse1.1 and
# SSLReencrypt are in every capture, but are managed only when a spec sets them (the per-protocol
# layout): a row without them reads as unset there, and a write puts them right.
UNSET_WHEN_ABSENT: frozenset[str] = frozenset(
    {
        "NickName",
        "Persist",
        "CheckUrl",
        "ExtraPorts",
        "ErrorUrl",
        "CheckHost",
        "SSLAcceleration",
        "CertFile",
        "CheckUse1.1",
        "SSLReencrypt",
    }
)
_LAYER_ELEMENT = "Layer"
# Every other managed setting a VS row of its own must carry: a default in its place would read
# a VS as the spec wants it (an appliance's Enable=N as Y), and plan would miss the difference.
# The layer has its own rule (``layer_problem``).
REQUIRED_SETTING_ELEMENTS: tuple[str, ...] = tuple(
    name
    for name in (wire_name(field) for field in MANAGED_VS_FIELDS)
    if name not in UNSET_WHEN_ABSENT and name != _LAYER_ELEMENT
)
# What lmctl compares in a real server row (``lmctl.appliance.state``), besides its address and
# port, which the model requires.
REQUIRED_RS_ELEMENTS: tuple[str, ...] = ("Weight", "Forward", "Enable")


def layer_problem(row: Mapping[str, Any]) -> str | None:
    """``'no Layer'`` when ``row`` does not say its layer, else None.

    Firmware that sends ``ForceL4`` sends ``Layer`` too (7.2.5x captures); firmware 7.1 sends
    neither, only ``ForceL7`` (``fw7.1-*`` captures), which then decides the layer. A row with
    ``ForceL4`` but no ``Layer``, or with none of the three, has lost its layer.
    """
    if row.get(_LAYER_ELEMENT) is not None:
        return None
    if row.get("ForceL4") is None and row.get("ForceL7") is not None:
        return None
    return f"no {_LAYER_ELEMENT}"


_PORT_DIGITS = re.compile(r"[1-9][0-9]{0,4}")


def outside_limits(name: str, value: int) -> str | None:
    """``'Weight -5 (the appliance allows 1-65530)'`` when ``value`` is outside ``name``'s
    range in ``REPLY_LIMITS``, else None."""
    low, high = REPLY_LIMITS[name]
    if value >= low and (high is None or value <= high):
        return None
    allowed = f"{low}-{high}" if high is not None else f"{low} or more"
    return f"{name} {value} (the appliance allows {allowed})"


def virtual_service_problem(vs: VirtualService) -> str | None:
    """What no appliance would report in this VS row (its numbers, its port, its address),
    or None. Missing elements are checked on the raw row (``lmctl.loadmaster.wire``)."""
    problems = [outside_limits("Index", vs.index)]
    if not vs.is_sub_service:
        problems.append(_vs_port_problem(vs.port))
        if vs.address is not None and not is_ip_address(vs.address):
            problems.append(f"VSAddress {scrubbed_excerpt(vs.address, 60)!r}, not an IP address")
    problems += [
        outside_limits(name, getattr(vs, field))
        for name, field in (
            ("Idletime", "idle_time"),
            ("PersistTimeout", "persist_timeout"),
            ("CheckPort", "check_port"),
        )
    ]
    for rs in vs.real_servers:
        if not is_ip_address(rs.address):
            problems.append(
                f"a real server Addr {scrubbed_excerpt(rs.address, 60)!r}, not an IP address"
            )
        for name, value in (("Port", rs.port), ("Weight", rs.weight)):
            if (problem := outside_limits(name, value)) is not None:
                problems.append(f"a real server {host_port(rs.address, rs.port)} with {problem}")
    return next((problem for problem in problems if problem is not None), None)


def _vs_port_problem(port: str) -> str | None:
    if port == "*":
        return None
    if _PORT_DIGITS.fullmatch(port) is None:
        return f"VSPort {scrubbed_excerpt(port, 20)!r}, not a port number"
    return outside_limits("VSPort", int(port))


@lru_cache(maxsize=16384)
def is_ip_address(text: str) -> bool:
    """True for an IPv4 or IPv6 literal (cached like ``normalised_address``).

    An IPv6 zone ID (``fe80::1%eth0``) is refused: Python takes any text after ``%`` (newlines
    too), and no VS or real server address of an appliance carries one.
    """
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class VirtualServiceStats(_WireModel):
    """One ``Vs`` row of ``stats``: live counters of a virtual service."""

    address: OptionalAddress = Field(None, alias="VSAddress")
    port: PortText = Field("0", alias="VSPort")
    protocol: str = Field(
        "tcp", alias="VSProt", validation_alias=AliasChoices("VSProt", "Protocol", "Prot")
    )
    index: Int = Field(alias="Index")
    enable: Flag = Field(True, alias="Enable")
    active_conns: Int = Field(
        0, ge=0, alias="ActiveConns", validation_alias=AliasChoices("ActiveConns", "ActivConns")
    )
    total_conns: Int = Field(0, alias="TotalConns")
    conns_per_sec: Int = Field(0, alias="ConnsPerSec")


class RealServerStats(_WireModel):
    """One ``Rs`` row of ``stats``: live counters of a real server within one VS."""

    vs_index: Int = Field(alias="VSIndex")
    rs_index: Int = Field(0, alias="RSIndex", validation_alias=AliasChoices("RSIndex", "RsIndex"))
    address: Address = Field(alias="Addr")
    port: Int = Field(0, alias="Port")
    enable: Flag = Field(True, alias="Enable")
    weight: Int = Field(1000, alias="Weight")
    # No count is below 0: a negative one would cancel live connections in drain's sum.
    active_conns: Int = Field(
        0, ge=0, alias="ActivConns", validation_alias=AliasChoices("ActivConns", "ActiveConns")
    )
    persist: Int = Field(0, alias="Persist")
    conns: Int = Field(0, alias="Conns")


class Statistics(_WireModel):
    """The parts of ``stats`` lmctl reads: per-VS and per-RS connection counts.

    Validated straight from the ``stats`` fields: ``Vs``/``VS`` and ``Rs``/``RS`` rows, one or many.
    """

    virtual_services: Rows[VirtualServiceStats] = Field(
        (), validation_alias=AliasChoices("virtual_services", "Vs", "VS")
    )
    real_servers: Rows[RealServerStats] = Field(
        (), validation_alias=AliasChoices("real_servers", "Rs", "RS")
    )

    @cached_property
    def _connections_by_real_server(self) -> dict[tuple[int, str, int], int]:
        return {
            (row.vs_index, row.address, row.port): row.active_conns for row in self.real_servers
        }

    def active_connections(self, vs_index: int, address: str, port: int) -> int:
        """Active connections of one real server within one VS (0 when ``stats`` omits it)."""
        key = (vs_index, normalised_address(address), port)
        return self._connections_by_real_server.get(key, 0)


# -- the parameters that name objects in a command (the same in both dialects) ----------------

VirtualServiceRef = VirtualServiceKey | int
"""A virtual service as the client takes it: its key, or its Index (only for a SubVS)."""


def vs_params(vs: VirtualServiceRef) -> dict[str, str]:
    """``vs``/``port``/``prot`` for a key, ``vs=<Index>`` for an index."""
    if isinstance(vs, VirtualServiceKey):
        return vs.params()
    return {"vs": str(vs)}


def describe_vs(vs: VirtualServiceRef) -> str:
    """A virtual service as a message names it: ``10.0.0.5:443/tcp`` or ``VS index 7``."""
    return str(vs) if isinstance(vs, VirtualServiceKey) else f"VS index {vs}"


def rs_params(address: str, port: int) -> dict[str, str]:
    """``rs``/``rsport`` naming a real server inside a VS."""
    return {"rs": address, "rsport": str(port)}


def real_server_params(
    *,
    weight: int | None = None,
    forward: str | None = None,
    enable: bool | None = None,
    non_local: bool = False,
) -> dict[str, str]:
    """``addrs``/``modrs`` settings; ``None`` leaves a setting out (the appliance keeps it).

    ``non_local=1`` lets the appliance accept a real server outside its own subnets; it is a
    permission sent with the write, not a setting the appliance reports back.
    """
    params: dict[str, str] = {}
    if weight is not None:
        params["weight"] = str(weight)
    if forward is not None:
        params["forward"] = forward
    if enable is not None:
        params["enable"] = wire_value(enable)
    if non_local:
        params["non_local"] = "1"
    return params


def moved_key(vs: VirtualServiceRef, params: Mapping[str, str]) -> VirtualServiceRef:
    """Where a VS is after ``modvs`` with ``params``: ``vsaddress``/``vsport`` move it."""
    if not isinstance(vs, VirtualServiceKey):
        return vs
    caseless = {name.lower(): value for name, value in params.items()}
    return VirtualServiceKey(
        address=caseless.get("vsaddress") or vs.address,
        port=caseless.get("vsport") or vs.port,
        protocol=vs.protocol,
    )


class ContentRule(_WireModel):
    """A content matching rule as ``showrule`` lists it under ``MatchContentRule`` (Progress
    Kemp, RESTful API programmer guide, "Add a content rule to the system")."""

    name: str = Field(alias="Name")
    pattern: str = Field("", alias="Pattern")
    # ``Regex`` as the appliance spells its default, ``prefix``/``postfix`` as sent.
    match_type: Annotated[str, BeforeValidator(parse_lower)] = Field("regex", alias="MatchType")
    nocase: Flag = Field(False, alias="CaseIndependent")
    negate: Flag = Field(False, alias="Negate")
    add_host: Flag = Field(False, alias="AddHost")
    include_query: Flag = Field(False, alias="IncludeQuery")
    header: OptionalText = Field(None, alias="Header")
    must_fail: Flag = Field(False, alias="MustFail")
