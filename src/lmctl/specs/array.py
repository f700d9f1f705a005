"""The array spec: one Exchange client access array (or 2013+ namespace) per YAML file."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)

from lmctl.loadmaster.models import CheckType, Persistence, Scheduling
from lmctl.releases import (
    DEFAULT_KEEPALIVE_TIME,
    DEFAULT_PERSISTENCE_TIMEOUT,
    RPC_ENDPOINT_MAPPER,
    URL_CHECKS,
    VERSION_DESCRIPTION,
    VERSION_PATTERN,
    VIRTUAL_DIRECTORIES,
    ExchangeVersion,
    Layout,
    ServiceName,
    ServiceProfile,
    VirtualDirectory,
    long_lived_idle_timeout,
    parse_exchange_version,
)
from lmctl.specs.validation import SpecModel
from lmctl.text import closest, excerpt, is_hidden, meant


def ip_value(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address ``text`` names; an IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is the IPv4
    host it maps to. Rules compare these values, never the text as written."""
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_LIMITED_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _unusable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why no client could reach ``address`` as a VIP or a server, or None. The LoadMaster itself
    accepts some of these (a VS on 0.0.0.0), so the spec refuses them before a plan is made."""
    if address.is_unspecified:
        return "the unspecified address (it names no host)"
    if address == _LIMITED_BROADCAST:
        return "the broadcast address"
    if address.is_loopback:
        return "a loopback address (it never leaves the host)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address (it is not routed; the appliance needs a zone to use it)"
    if address in _THIS_NETWORK:
        return "in 0.0.0.0/8, which names this network, never a destination"
    if address.is_reserved:
        # IPv4 240.0.0.0/4; IPv6 ::/8 holds the deprecated IPv4-compatible (::127.0.0.1) and
        # translated (::ffff:0:a.b.c.d) forms, which would smuggle a loopback past the checks.
        return "in a reserved range (240.0.0.0/4, or ::/8 for IPv6: write an IPv4 address as such)"
    return None


_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")


def routable_address(value: str) -> str:
    """The normalised text of an address a VIP or a member may have (IPv6 compressed, lower
    case: what expansion writes to the appliance); ``ValueError`` saying why ``value`` is none
    (not an IP address, a zone ID, unreachable as ``_unusable`` says)."""
    if "%" in value:
        # Python reads fe80::50%eth0 as an address with a scope; the appliance's vs/rs parameters
        # take none, and the zone (which may hold spaces or a newline) would go on the wire.
        raise ValueError(f"'{excerpt(value)}' has a zone ID (after %): give the address alone")
    try:
        address = ip_value(value)
    except ValueError:
        raise ValueError(f"'{excerpt(value)}' is not an IP address (e.g. 10.10.1.50)") from None
    reason = _unusable(address)
    if reason is not None:
        raise ValueError(f"{address} is {reason}: give a routable unicast address")
    return str(address)


IpAddress = Annotated[
    str,
    AfterValidator(routable_address),
    WithJsonSchema(
        {
            "type": "string",
            "description": "An IPv4 or IPv6 address clients can reach, e.g. 10.10.1.50 "
            "(not unspecified, broadcast, loopback, multicast or link-local; no IPv6 zone ID).",
        }
    ),
]
# What ``lmctl import`` writes for a value it cannot know: validate refuses it and says what to
# fill in (the text after the prefix).
PLACEHOLDER = "FILL IN: "


def _filled(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(PLACEHOLDER):
        raise ValueError(f"{value.removeprefix(PLACEHOLDER)} (left to fill in by lmctl import)")
    return value


def _exchange_version(value: Any) -> ExchangeVersion:
    return parse_exchange_version(_filled(value))


ExchangeVersionField = Annotated[
    ExchangeVersion,
    PlainValidator(_exchange_version),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": VERSION_PATTERN,
            "description": VERSION_DESCRIPTION,
            "examples": ["2010 SP3", "2016 CU23"],
        }
    ),
]
Slug = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        max_length=40,
        description="expected lower-case letters, digits and hyphens, at most 40, e.g. hq-cas "
        "(the name is part of the ownership marker on the appliance)",
    ),
]


def _printable(value: str) -> str:
    # Such text is printed and may be compared with the appliance's: a control or format
    # character (an escape sequence, a bidi override) would only hide what is really there.
    for position, character in enumerate(value, start=1):
        if is_hidden(character):
            raise ValueError(
                f"character {position} is the control character {character!r}: give printable text"
            )
    return value


Text = Annotated[
    str, Field(min_length=1, max_length=255), AfterValidator(_printable), AfterValidator(_filled)
]
Port = Annotated[int, Field(ge=1, le=65535)]
# A certificate's name on the appliance: the characters Kemp documents for names.
CERTIFICATE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.@_-]{0,63}$"
CERTIFICATE_NAME_CHARACTERS = (
    "letters, digits and . @ - _, starting with a letter or digit, at most 64"
)


def _character(character: str) -> str:
    """One character for a message: ``a space``, or quoted and escaped (``'\\t'``)."""
    return "a space" if character == " " else f"'{excerpt(character)}'"


def certificate_name_problem(name: str) -> str | None:
    """What keeps ``name`` from naming a certificate on the appliance (the first character at
    fault, or the length), or None when it can."""
    if re.fullmatch(CERTIFICATE_NAME_PATTERN, name):
        return None
    if not name:
        return "it is empty"
    for position, character in enumerate(name, start=1):
        allowed = character.isascii() and (
            character.isalnum() or (position > 1 and character in ".@_-")
        )
        if not allowed:
            return f"character {position} is {_character(character)}"
    return f"it has {len(name)} characters"


def _certificate_name(value: Any) -> Any:
    problem = certificate_name_problem(value) if isinstance(value, str) else None
    if problem is not None:
        raise ValueError(
            f"'{excerpt(value)}' cannot name a certificate on the appliance: {problem}; use "
            f"{CERTIFICATE_NAME_CHARACTERS}, as the appliance's certificate list shows it "
            "(e.g. mail-2019)"
        )
    return value


CertificateName = Annotated[
    str,
    BeforeValidator(_certificate_name),
    Field(
        pattern=CERTIFICATE_NAME_PATTERN,
        description="expected the certificate's name on the appliance: "
        f"{CERTIFICATE_NAME_CHARACTERS}, e.g. mail-2019",
    ),
]


# IIS, which serves Exchange's virtual directories, ignores the case of a path: admins write
# EWS, OWA, ECP, MAPI and OAB as often as ews. A spec may too; lmctl keeps the spelling of
# VIRTUAL_DIRECTORIES (in SubVS markers, content rules, check URLs), so [ews, EWS] lists ews twice.
_DIRECTORY_BY_FOLDED: dict[str, VirtualDirectory] = {d.lower(): d for d in VIRTUAL_DIRECTORIES}
# What admins call a directory whose path is another word: a hint only, never accepted.
_DIRECTORY_NICKNAMES: dict[str, VirtualDirectory] = {
    "activesync": "Microsoft-Server-ActiveSync",
    "active-sync": "Microsoft-Server-ActiveSync",
    "eas": "Microsoft-Server-ActiveSync",
    "outlook-anywhere": "rpc",
    "outlookanywhere": "rpc",
}
_ALLOWED_DIRECTORIES = (
    ", ".join(f"'{d}'" for d in VIRTUAL_DIRECTORIES[:-1]) + f" or '{VIRTUAL_DIRECTORIES[-1]}'"
)


def _directory(value: Any) -> Any:
    """A virtual directory as lmctl spells it, whatever the case written (``EWS`` is ``ews``);
    an unknown name is refused with the directory it most likely means. Anything but text goes
    on to the type's own error."""
    if not isinstance(value, str):
        return value
    # ASCII only: str.casefold would take a look-alike (the long s, U+017F) for its letter.
    folded = value.lower() if value.isascii() else value
    if folded in _DIRECTORY_BY_FOLDED:
        return _DIRECTORY_BY_FOLDED[folded]
    word = folded.strip("/")
    if word == "powershell":
        raise ValueError(
            f"'{excerpt(value)}' is not published by lmctl: remote PowerShell is for "
            "administrators, who connect to one server (http://<server FQDN>/PowerShell/ with "
            "Kerberos), not through the client namespace; remove it"
        )
    close = closest(word, _DIRECTORY_BY_FOLDED)
    likely = _DIRECTORY_NICKNAMES.get(word) or (_DIRECTORY_BY_FOLDED[close] if close else None)
    raise ValueError(
        f"'{excerpt(value)}' is not a virtual directory lmctl publishes{meant(likely)}; "
        f"allowed, in any case: {_ALLOWED_DIRECTORIES}"
    )


def _any_case(name: str) -> str:
    """A JSON Schema (ECMA-262) pattern matching ``name`` in any case: ``[Ee][Ww][Ss]``."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in name)


DirectoryName = Annotated[
    VirtualDirectory,
    BeforeValidator(_directory),
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [
                {"enum": list(VIRTUAL_DIRECTORIES)},
                {"pattern": "^(" + "|".join(_any_case(d) for d in VIRTUAL_DIRECTORIES) + ")$"},
            ],
            "description": "A virtual directory, in any case (EWS is ews): "
            + ", ".join(VIRTUAL_DIRECTORIES)
            + ".",
        }
    ),
]


class RpcPorts(SpecModel):
    """The static RPC ports set in the registry of every Exchange 2010 CAS of the array."""

    client_access: Port = Field(
        description="RPC Client Access service port (registry: MSExchangeRPC ParametersSystem "
        "'TCP/IP Port'), e.g. 60000."
    )
    address_book: Port = Field(
        description="Address Book service port (MSExchangeAB 'RpcTcpPort'), e.g. 60001."
    )

    def as_tuple(self) -> tuple[int, int]:
        """(client access, address book)."""
        return (self.client_access, self.address_book)


# A health check's URL: printable ASCII without spaces, as it goes to the appliance as CheckUrl
# and into each probe's request line, where a control character or a space would break the
# request.
CHECK_URL_PATTERN = r"^/[!-~]*$"
CHECK_URL_MAX_LENGTH = 255


class HealthCheck(SpecModel):
    """How the LoadMaster probes each member for one service."""

    type: CheckType | None = Field(None, description="Probe type; default per service.")
    url: (
        Annotated[str, Field(pattern=CHECK_URL_PATTERN, max_length=CHECK_URL_MAX_LENGTH)] | None
    ) = Field(
        None,
        description="expected a path starting with /, printable ASCII without spaces, "
        "e.g. /owa/auth/logon.aspx",
    )
    port: Port | None = Field(None, description="Port probed; default: the member's service port.")


class ServiceOverride(SpecModel):
    """Per-service settings that replace lmctl's defaults for this array."""

    persistence: Persistence | None = Field(
        None, description="Persistence mode ('none' turns it off), e.g. src for source IP."
    )
    persistence_timeout: Annotated[int, Field(ge=0, le=604800)] | None = Field(
        None, description="Seconds a client stays on its member (0-604800)."
    )
    idle_timeout: Annotated[int, Field(ge=0, le=86400)] | None = Field(
        None, description="Seconds an idle connection is kept (0-86400; 0 = appliance default)."
    )
    health_check: HealthCheck | None = None
    layer: Literal[4, 7] | None = Field(
        None,
        description="7 (default): the LoadMaster proxies, members need no route back; 4: "
        "transparent pass-through, members need the LoadMaster as default gateway.",
    )
    transparent: bool | None = Field(
        None,
        description="true: the members see the client's own address (e.g. for receive "
        "connectors scoped by client IP), so their default gateway must be the LoadMaster; "
        "default false at layer 7 (layer 4 is always transparent).",
    )
    members: Annotated[tuple[MemberSpec, ...], Field(min_length=1)] | None = Field(
        None,
        description="smtp and submission only: the servers of this service when they are not "
        "the array's members (Exchange 2010: the Hub Transport servers).",
    )


class MemberSpec(SpecModel):
    """One Client Access server of the array: a real server of each of its virtual services."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")] = Field(
        description="expected the server's host name (letters, digits, hyphens), e.g. HQ-CAS01"
    )
    address: IpAddress = Field(description="The server's IP address, e.g. 10.10.1.11.")
    weight: Annotated[int, Field(ge=1, le=65530)] | None = Field(
        None, description="Real-server weight (1-65530); default 1000."
    )
    site: Text | None = Field(
        None, description="AD site the server is in; 2010: must be the array's."
    )
    exchange: ExchangeVersionField | None = Field(
        None,
        description="Version installed on the server; 2010: must equal the array's, 2013+: "
        "another CU warns, another version follows Microsoft's coexistence rules.",
    )
    rpc_ports: RpcPorts | None = Field(
        None, description="Static RPC ports set on this server (2010); must equal the array's."
    )
    enabled: bool | None = Field(
        None,
        description="true/false forces the real server on/off; unset leaves an operator's "
        "drain alone.",
    )
    non_local: bool | None = Field(
        None,
        description="true: the server is on a subnet the LoadMaster has no interface on (added "
        "with non_local=1); default: from the inventory's local_subnets / non_local.",
    )


class ArraySpec(SpecModel):
    """One Exchange client access array (2010) or namespace (2013+) behind one VIP."""

    name: Slug
    site: Text = Field(description="Active Directory site of the array or namespace, e.g. HQ.")
    exchange: ExchangeVersionField = Field(
        description="Exchange version and service pack or cumulative update, e.g. 2010 SP3 or "
        "2016 CU23."
    )
    fqdn: Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_filled)] = Field(
        description="The FQDN: for 2010 the CAS array FQDN that Outlook's RPC connections use "
        "(internal only), for 2013+ the namespace clients connect to."
    )
    vip: IpAddress = Field(description="Virtual IP of the array or namespace on the LoadMaster.")
    appliance: Text = Field(description="Name of a LoadMaster in the inventory.")
    scheduling: Scheduling = Field("rr", description="Scheduling method; default rr.")
    client_hostnames: tuple[Annotated[str, Field(min_length=1, max_length=253)], ...] = Field(
        (),
        description="Published client host names (OWA, EWS, ActiveSync, Autodiscover, Outlook "
        "Anywhere); the FQDN must differ from all of them.",
    )
    rpc_ports: RpcPorts | None = Field(None, description="Static RPC ports (Exchange 2010).")
    keepalive_time: Annotated[int, Field(ge=60, le=7200)] = Field(
        DEFAULT_KEEPALIVE_TIME,
        description="The members' TCP KeepAliveTime in seconds (registry: Tcpip\\Parameters "
        "'KeepAliveTime', in ms); Microsoft recommends 900-1800. Long-lived services (rpc, "
        "https) idle longer than this and the 59-minute ActiveSync Direct Push heartbeat.",
    )
    members: tuple[MemberSpec, ...] = Field(
        min_length=1,
        description="The Client Access servers, e.g. - {name: HQ-CAS01, address: 10.10.1.11}.",
    )
    services: Annotated[tuple[ServiceName, ...], Field(min_length=1)] | None = Field(
        None,
        description="Services to publish; default per version (2010: rpc, https, "
        "http-redirect; 2013+: https, http-redirect).",
    )
    overrides: dict[ServiceName, ServiceOverride] = Field(
        default_factory=dict, description="Per-service settings replacing lmctl's defaults."
    )
    layout: Layout = Field(
        "single-service",
        description="How HTTPS is published: single-service (default): one VS on 443 with one "
        "health check; per-protocol (2013+): one layer 7 VS terminating TLS with the named "
        "certificate and re-encrypting to the members, with a SubVS per virtual directory, each "
        "checking its own /<directory>/healthcheck.htm (see docs/layouts.md).",
    )
    certificate: CertificateName | None = Field(
        None,
        description="per-protocol only: the name of the certificate installed on the appliance "
        "for the namespace (as listcert shows it), e.g. mail-2019.",
    )
    directories: Annotated[tuple[DirectoryName, ...], Field(min_length=1)] | None = Field(
        None,
        description="per-protocol only: the virtual directories that get a SubVS; default all: "
        + ", ".join(VIRTUAL_DIRECTORIES)
        + ".",
    )
    adopt: bool = Field(
        False,
        description="true: plan takes over the virtual services without lmctl's marker that "
        "sit on exactly the keys this array wants (shown as 'adopt' in the plan; see "
        "docs/adoption.md); default false: they are conflicts.",
    )

    @property
    def published_directories(self) -> tuple[VirtualDirectory, ...]:
        """The virtual directories of the per-protocol layout: the listed ones, or all."""
        return self.directories if self.directories is not None else VIRTUAL_DIRECTORIES

    @property
    def enabled_services(self) -> tuple[ServiceName, ...]:
        """The services this array publishes: the listed ones or the version's defaults."""
        if self.services is not None:
            return self.services
        return self.exchange.family.default_services

    def override(self, service: str) -> ServiceOverride:
        """The override of ``service`` (an empty one when the spec has none)."""
        for name, override in self.overrides.items():
            if name == service:
                return override
        return _NO_OVERRIDE

    def profile(self, service: ServiceName) -> ServiceProfile:
        """What ``service`` becomes: the release's profile with this spec's overrides (only the
        keys the spec sets). A check type without a URL (tcp, smtp ...) drops the profile's
        URL; persistence turned on without a timeout takes the profile's or a default."""
        base = self.default_profile(service)
        override = self.override(service)
        changes: dict[str, Any] = {}
        if override.persistence == "none":
            changes.update(persistence=None, persistence_timeout=0)
        elif override.persistence is not None:
            # A timeout given is kept, 0 too (Kemp's PersistTimeout runs 0-604800).
            timeout = override.persistence_timeout
            if timeout is None:
                timeout = base.persistence_timeout or DEFAULT_PERSISTENCE_TIMEOUT
            changes.update(persistence=override.persistence, persistence_timeout=timeout)
        elif override.persistence_timeout is not None:
            changes.update(persistence_timeout=override.persistence_timeout)
        if override.idle_timeout is not None:
            changes.update(idle_timeout=override.idle_timeout)
        if override.layer is not None:
            changes.update(layer=override.layer)
        if override.transparent is not None:
            changes.update(transparent=override.transparent)
        check = override.health_check
        if check is not None:
            if check.type is not None:
                changes.update(check_type=check.type)
                if check.type not in URL_CHECKS:
                    changes.update(check_url=None)
            if check.url is not None:
                changes.update(check_url=check.url)
            if check.port is not None:
                changes.update(check_port=check.port)
        return dataclasses.replace(base, **changes)

    def default_profile(self, service: ServiceName) -> ServiceProfile:
        """The release's profile of ``service`` with what follows from this spec, before the
        overrides: a long-lived service's timeouts from ``keepalive_time``, the rpc check on
        the static RPC Client Access port."""
        base = self.exchange.family.profile(service)
        changes: dict[str, Any] = {}
        if base.outlives_keepalive:
            idle = long_lived_idle_timeout(self.keepalive_time)
            changes.update(idle_timeout=idle)
            if base.persistence is not None and not base.persistence_timeout:
                changes.update(persistence_timeout=idle)
        if base.check_port == RPC_ENDPOINT_MAPPER and self.rpc_ports is not None:
            changes.update(check_port=self.rpc_ports.client_access)
        return dataclasses.replace(base, **changes)

    def members_of(self, service: str) -> tuple[MemberSpec, ...]:
        """The servers of ``service``: its own (``overrides.smtp.members``) or the array's."""
        return self.override(service).members or self.members

    def member(self, name: str) -> MemberSpec | None:
        """The member called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((m for m in self.members if m.name.lower() == wanted), None)


_NO_OVERRIDE = ServiceOverride()
# ``ServiceOverride.members`` names ``MemberSpec``, declared after it.
ServiceOverride.model_rebuild()
