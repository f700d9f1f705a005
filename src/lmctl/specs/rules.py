"""The rules of ``docs/specs.md`` over validated specs: per array (``ARRAY_RULES``: members,
FQDN, static RPC ports, services and overrides per Exchange version) and across the whole set
(``SET_RULES``: names, sites, servers, VIPs and ports, FQDNs), and the inventory's appliances.

Each rule yields diagnostics located in the array's own file (``SourcedArray``); a rule that
compares two arrays names the other one with its file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from lmctl.loadmaster.connection import DNS_LABEL
from lmctl.releases import (
    APPLIANCE_IDLE_TIMEOUT,
    DIRECT_PUSH_MAX_HEARTBEAT,
    FAMILIES,
    LAYER_7_PERSISTENCE,
    RPC_ENDPOINT_MAPPER,
    STATIC_RPC_RANGE,
    TRANSPORT_SERVICES,
    URL_CHECKS,
    ExchangeVersion,
    ServiceName,
    ServiceProfile,
    coexistence,
    is_transparent,
    vip_port,
)
from lmctl.specs.array import ArraySpec, MemberSpec, ServiceOverride, ip_value
from lmctl.specs.inventory import Inventory
from lmctl.specs.source import Diagnostic, Severity, YamlDocument
from lmctl.text import excerpt

# The scheduling methods in which a real server's weight counts (fixed: the heaviest one wins).
WEIGHTED_SCHEDULING = frozenset({"wrr", "wlc", "fixed"})
_LABEL = re.compile(DNS_LABEL)


@dataclass(frozen=True)
class SourcedArray:
    """A validated array spec together with the file it came from (for line numbers)."""

    spec: ArraySpec
    document: YamlDocument

    def diagnostic(
        self, severity: Severity, location: Sequence[str | int], message: str
    ) -> Diagnostic:
        """A diagnostic pointing at ``location`` inside this array's file."""
        return self.document.diagnostic(severity, location, message)

    def at(self, field: str) -> str:
        """``arrays/hq.yaml:5``: the file and the line of the top-level key ``field``."""
        return f"{self.document.display}:{self.document.line_of((field,))}"

    @property
    def noun(self) -> str:
        """``array`` (2010, a CAS array) or ``namespace`` (2013+), for messages."""
        return self.spec.exchange.family.noun

    def where(self) -> str:
        """``array 'hq-cas' (arrays/hq.yaml:2)`` (or ``namespace 'mail' ...``) for messages that
        point at another spec."""
        return f"{self.noun} '{self.spec.name}' ({self.at('name')})"


# Rules about one array.


def _member_declarations(array: SourcedArray) -> Iterator[Diagnostic]:
    """A member's declared version, site and static RPC ports against the array's."""
    for index, member in enumerate(array.spec.members):
        for key, severity, problem in _member_disagreements(array.spec, member):
            yield array.diagnostic(severity, ("members", index, key), problem)


def _member_disagreements(
    spec: ArraySpec, member: MemberSpec
) -> Iterator[tuple[str, Severity, str]]:
    """(key, severity, message) for each fact the member declares differently from its spec."""
    if member.exchange is not None and member.exchange != spec.exchange:
        problem = _release_problem(spec.exchange, member.name, member.exchange)
        if problem is not None:
            yield ("exchange", *problem)
    cas_array = spec.exchange.family.has_cas_array
    # A 2013+ namespace may be served from several sites (Microsoft's unbound model).
    if cas_array and member.site is not None and member.site.casefold() != spec.site.casefold():
        yield (
            "site",
            "error",
            f"member {member.name} is in AD site '{excerpt(member.site)}' but the array is in site "
            f"'{excerpt(spec.site)}'; a CAS array cannot span AD sites",
        )
    if member.rpc_ports is not None and member.rpc_ports != spec.rpc_ports:
        wanted = "none" if spec.rpc_ports is None else str(spec.rpc_ports.as_tuple())
        yield (
            "rpc_ports",
            "error",
            f"member {member.name} has static RPC ports {member.rpc_ports.as_tuple()} but the "
            f"{spec.exchange.family.noun}'s are {wanted}; every member must use the same static "
            "ports",
        )


def _release_problem(
    spec: ExchangeVersion, member: str, installed: ExchangeVersion
) -> tuple[Severity, str] | None:
    """What a member on another release than its spec's means (None: another CU of the same
    2013+ version, which ``_rolling_upgrade`` reports once for the whole namespace)."""
    family = spec.family
    if family.has_cas_array or installed.family.has_cas_array:
        if installed.major == spec.major or family.has_cas_array:
            return "error", (
                f"member {member} runs Exchange {installed} but the array is Exchange {spec}; "
                "a CAS array cannot mix versions or service packs"
            )
        return "error", (
            f"member {member} runs Exchange {installed}, which has CAS arrays and cannot serve "
            f"an Exchange {family.name} namespace; keep it in a 2010 array spec"
        )
    if installed.major == spec.major:
        return None
    rule = coexistence(spec, installed)
    older, newer = sorted((spec, installed))
    if rule is None:
        return "error", (
            f"member {member} runs Exchange {installed}, and Microsoft does not support Exchange "
            f"{older.family.name} together with Exchange {newer.family.name}; remove it from "
            f"the {family.name} namespace"
        )
    minimum = ExchangeVersion(rule.older, rule.minimum)
    if rule.newer_until is not None and newer.position > newer.family.position(rule.newer_until):
        return "error", (
            f"member {member} runs Exchange {installed}, "
            f"{'which' if newer is installed else f'and Exchange {newer}'} no longer "
            f"coexists with Exchange {older.family.name} (its setup refuses it; the last that "
            f"does is Exchange {newer.family.name} {rule.newer_until})"
        )
    if older.position < minimum.position:
        return "error", (
            f"member {member} runs Exchange {installed}, but Exchange {newer.family.name} "
            f"coexists only with Exchange {minimum} or later (Exchange supportability matrix); "
            f"update the Exchange {older.family.name} servers first"
        )
    return "warning", (
        f"member {member} runs Exchange {installed} behind an Exchange {spec} namespace: "
        f"Microsoft supports this during a migration (Exchange {minimum} or later with Exchange "
        f"{newer.family.name}); finish the migration"
    )


def _rolling_upgrade(array: SourcedArray) -> Iterator[Diagnostic]:
    """Members of a 2013+ namespace on different CUs of its version: one warning naming them."""
    spec = array.spec
    if spec.exchange.family.has_cas_array:
        return
    by_level: dict[str, list[str]] = {}
    first: int | None = None
    for index, member in enumerate(spec.members):
        installed = member.exchange or spec.exchange
        if installed.major != spec.exchange.major:
            continue
        by_level.setdefault(installed.level, []).append(member.name)
        if installed != spec.exchange and first is None:
            first = index
    if first is None or len(by_level) < 2:
        return
    family = spec.exchange.family
    levels = sorted(by_level, key=family.position)
    listing = "; ".join(f"{level}: {', '.join(by_level[level])}" for level in levels)
    yield array.diagnostic(
        "warning",
        ("members", first, "exchange"),
        f"the members run different cumulative updates of Exchange {family.name} ({listing}); "
        f"normal during a rolling upgrade, then bring every member to {levels[-1]} "
        f"(the namespace says {spec.exchange.level})",
    )


def _duplicate_members(array: SourcedArray) -> Iterator[Diagnostic]:
    yield from _listed_once(array, array.spec.members, ("members",))


def _listed_once(
    array: SourcedArray, members: Sequence[MemberSpec], where: tuple[str, ...]
) -> Iterator[Diagnostic]:
    seen: dict[tuple[str, object], int] = {}
    for index, member in enumerate(members):
        keys = (("name", member.name.casefold()), ("address", ip_value(member.address)))
        for kind, value in keys:
            first = seen.setdefault((kind, value), index)
            if first != index:
                yield array.diagnostic(
                    "error",
                    (*where, index, kind),
                    f"member {kind} '{getattr(member, kind)}' is listed twice "
                    f"(also {where[-1]}[{first}]); list each server once",
                )


def _fqdn(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    fqdn = spec.fqdn.rstrip(".")
    if not is_host_name(fqdn):
        yield array.diagnostic(
            "error",
            ("fqdn",),
            f"'{excerpt(spec.fqdn)}' is not a valid host name: expected dot-separated labels of "
            "letters, digits and hyphens, e.g. outlook-hq.corp.example.com",
        )
    for index, name in enumerate(spec.client_hostnames):
        # The same rule: each is a DNS name, a certificate name and the Host of a request.
        if not is_host_name(name.rstrip(".")):
            yield array.diagnostic(
                "error",
                ("client_hostnames", index),
                f"'{excerpt(name)}' is not a valid host name: expected dot-separated labels of "
                "letters, digits and hyphens (at most 63 each), e.g. mail.corp.example.com",
            )
    # For 2013+ the fqdn is the namespace itself, which may be listed again.
    published = {name.rstrip(".").casefold() for name in spec.client_hostnames}
    if spec.exchange.family.has_cas_array and fqdn.casefold() in published:
        yield array.diagnostic(
            "error",
            ("fqdn",),
            f"the array FQDN '{excerpt(spec.fqdn)}' is also a published client host name "
            f"(client_hostnames); {_ARRAY_FQDN_IS_INTERNAL}",
        )


_ARRAY_FQDN_IS_INTERNAL = (
    "the CAS array FQDN is for Outlook's RPC connections inside the network and must differ "
    "from the OWA/EWS/ActiveSync/Autodiscover/Outlook Anywhere names"
)


def is_host_name(name: str) -> bool:
    """True for an RFC 1123 host name of at least two labels, at most 253 characters."""
    labels = name.split(".")
    return (
        len(name) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)
    )


def _rpc_ports(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    if spec.rpc_ports is None:
        return
    if not spec.exchange.family.has_rpc_over_tcp:
        with_rpc = " and ".join(f"Exchange {f.name}" for f in FAMILIES if f.has_rpc_over_tcp)
        yield array.diagnostic(
            "error",
            ("rpc_ports",),
            f"static RPC ports exist only on {with_rpc}; Exchange {spec.exchange.family.name} "
            "has no RPC over TCP: remove rpc_ports",
        )
        return
    if spec.exchange.level == "RTM":
        yield array.diagnostic(
            "warning",
            ("rpc_ports",),
            "on Exchange 2010 RTM the Address Book port is set in the service's config file "
            "(microsoft.exchange.addressbook.service.exe.config), and installing SP1 drops it: "
            "set it again afterwards as MSExchangeAB\\Parameters 'RpcTcpPort' (REG_SZ)",
        )
    ports = spec.rpc_ports
    for key, port in (("client_access", ports.client_access), ("address_book", ports.address_book)):
        problem = _static_port_problem(port)
        if problem is not None:
            yield array.diagnostic(problem[0], ("rpc_ports", key), problem[1])
    if ports.client_access == ports.address_book:
        yield array.diagnostic(
            "error",
            ("rpc_ports", "address_book"),
            f"client_access and address_book are both {ports.client_access}; "
            "they must be two different ports",
        )


def _static_port_problem(port: int) -> tuple[Severity, str] | None:
    """What is wrong with one static RPC port (severity, message), or None."""
    low, high = STATIC_RPC_RANGE
    if port == RPC_ENDPOINT_MAPPER:
        return "error", f"port {port} is the RPC endpoint mapper; choose a static port"
    if not 1024 <= port <= 65535:
        return "error", f"port {port} is outside 1024-65535; choose e.g. 60000"
    if not low <= port <= high:
        return (
            "warning",
            f"port {port} is outside {low}-{high}, the range usually chosen for static "
            "RPC ports (it may clash with Windows' dynamic ports)",
        )
    return None


def _missing_rpc_ports(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    rpc_published = "rpc" in spec.enabled_services
    if spec.exchange.family.has_rpc_over_tcp and spec.rpc_ports is None and rpc_published:
        yield array.diagnostic(
            "warning",
            ("exchange",),
            "no static RPC ports (rpc_ports:): the rpc virtual service must take every port (*); "
            "set static ports on every CAS, e.g. rpc_ports: {client_access: 60000, "
            "address_book: 60001}",
        )


def _healthcheck_htm_where_none(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    family = spec.exchange.family
    if family.has_healthcheck_htm:
        return
    for service, override in spec.overrides.items():
        check = override.health_check
        if check is not None and check.url is not None and "healthcheck.htm" in check.url.lower():
            yield array.diagnostic(
                "error",
                ("overrides", service, "health_check", "url"),
                f"'{excerpt(check.url)}': Exchange {family.name} has no healthcheck.htm; "
                f"probe e.g. {family.profile('https').check_url}",
            )


def _layout(array: SourcedArray) -> Iterator[Diagnostic]:
    """The per-protocol layout (docs/layouts.md): 2013+ (a healthcheck.htm per virtual
    directory), HTTPS published, a certificate named; its own keys only with it."""
    spec = array.spec
    family = spec.exchange.family
    if spec.layout == "single-service":
        for field in ("certificate", "directories"):
            if getattr(spec, field) is not None:
                yield array.diagnostic(
                    "error",
                    (field,),
                    f"{field} belongs to layout: per-protocol; add that, or remove {field}",
                )
        return
    if not family.has_healthcheck_htm:
        yield array.diagnostic(
            "error",
            ("layout",),
            f"Exchange {family.name} has no healthcheck.htm per virtual directory: "
            "the per-protocol layout needs Exchange 2013 or later; use layout: single-service",
        )
    if "https" not in spec.enabled_services:
        yield array.diagnostic(
            "error",
            ("layout",),
            "the per-protocol layout publishes HTTPS, which services: leaves out; add https",
        )
    if spec.certificate is None:
        yield array.diagnostic(
            "error",
            ("layout",),
            "the per-protocol layout terminates TLS on the appliance: name its certificate "
            "(certificate: NAME, as the appliance's certificate list shows it)",
        )
    yield from _each_once(array, "directories", "directory", spec.directories or ())
    yield from _per_protocol_overrides(array)


# What the per-protocol layout sets itself (the one value an override may repeat, None for
# none) and why another value cannot be honoured (docs/layouts.md cites each).
_NO_AFFINITY = "Exchange 2013 and later need no affinity, so no SubVS persists"
_PER_PROTOCOL_FIXED: dict[str, tuple[object, str]] = {
    "health_check": (None, "each virtual directory checks its own healthcheck.htm"),
    "layer": (7, "content switching by path needs layer 7"),
    "transparent": (False, "the parent re-encrypts to the members, which a transparent VS cannot"),
    "persistence": ("none", _NO_AFFINITY),
    "persistence_timeout": (0, _NO_AFFINITY),
}


def _per_protocol_overrides(array: SourcedArray) -> Iterator[Diagnostic]:
    """An ``overrides.https`` setting the per-protocol layout would silently drop is an error."""
    https = array.spec.overrides.get("https")
    if https is None:
        return
    for field, (fixed, why) in _PER_PROTOCOL_FIXED.items():
        value = getattr(https, field)
        if value is None or value == fixed:
            continue
        yield array.diagnostic(
            "error",
            ("overrides", "https", field),
            f"with layout: per-protocol {why}; remove {field} here",
        )


def _rpc_without_rpc_over_tcp(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    if spec.exchange.family.offers("rpc"):
        return
    message = (
        f"Exchange {spec.exchange.family.name} has no RPC over TCP (clients use HTTPS): "
        "remove the rpc service"
    )
    for index, service in enumerate(spec.services or ()):
        if service == "rpc":
            yield array.diagnostic("error", ("services", index), message)
    if "rpc" in spec.overrides:
        yield array.diagnostic("error", ("overrides", "rpc"), message)


def _services_listed_once(array: SourcedArray) -> Iterator[Diagnostic]:
    yield from _each_once(array, "services", "service", array.spec.services or ())


def _each_once(
    array: SourcedArray, field: str, noun: str, names: Sequence[str]
) -> Iterator[Diagnostic]:
    """An error on each name of the list ``field`` that an earlier entry already gave. A name
    read in any case (a directory: ``[ews, EWS]``) shows both spellings."""
    content = array.document.content
    listed = content.get(field) if isinstance(content, dict) else None
    written = [str(item) for item in listed] if isinstance(listed, list) else list(names)
    first: dict[str, str] = {}
    for index, name in enumerate(names):
        spelled = written[index] if index < len(written) else name
        if name not in first:
            first[name] = spelled
            continue
        spellings = (
            ""
            if first[name] == spelled == name
            else f" (as '{excerpt(first[name])}' and '{excerpt(spelled)}': case does not matter)"
        )
        yield array.diagnostic(
            "error",
            (field, index),
            f"{noun} '{name}' is listed twice{spellings}; list each {noun} once",
        )


def _overrides_published(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    published = spec.enabled_services
    for service in spec.overrides:
        # A service the version does not offer has its own error (rpc on 2013+).
        if service not in published and spec.exchange.family.offers(service):
            yield array.diagnostic(
                "error",
                ("overrides", service),
                f"override for '{service}', which the {array.noun} does not publish "
                f"(services: {', '.join(published)}); add it to services: or remove the override",
            )


def _redirect_layer(array: SourcedArray) -> Iterator[Diagnostic]:
    override = array.spec.overrides.get("http-redirect")
    if override is not None and override.layer == 4:
        yield array.diagnostic(
            "error",
            ("overrides", "http-redirect", "layer"),
            "http-redirect answers with an HTTP 302 and needs layer 7; remove layer: 4",
        )


def _offered_overrides(spec: ArraySpec) -> list[tuple[ServiceName, ServiceOverride]]:
    # An override of a service the version does not offer has its own error (rpc on 2013+).
    return [(s, o) for s, o in spec.overrides.items() if spec.exchange.family.offers(s)]


def _offered_services(spec: ArraySpec) -> list[ServiceName]:
    return [s for s in spec.enabled_services if spec.exchange.family.offers(s)]


def _persistence_timeout_alone(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    for service, override in _offered_overrides(spec):
        if override.persistence_timeout and spec.profile(service).persistence is None:
            yield array.diagnostic(
                "error",
                ("overrides", service, "persistence_timeout"),
                f"persistence_timeout without persistence: {service} keeps no client on a "
                "member; set persistence: (e.g. src) or remove persistence_timeout",
            )


def _check_url_without_url_check(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    for service, override in _offered_overrides(spec):
        check = override.health_check
        check_type = spec.profile(service).check_type
        if check is not None and check.url is not None and check_type not in URL_CHECKS:
            yield array.diagnostic(
                "error",
                ("overrides", service, "health_check", "url"),
                f"a {check_type} check requests no URL; the appliance takes CheckUrl only with "
                "http or https checks: remove url or use type: https",
            )


def _is_transparent(spec: ArraySpec, service: str, profile: ServiceProfile) -> bool:
    """Whether ``service`` runs transparent (its real servers see the clients' addresses).
    Never http-redirect (no real servers), nor the https of a per-protocol array: that layout
    runs it at layer 7, not transparent, whatever ``overrides.https`` says (a ``layer: 4`` or
    ``transparent: true`` there is an error of its own, ``_per_protocol_overrides``)."""
    if service == "http-redirect" or (spec.layout == "per-protocol" and service == "https"):
        return False
    return is_transparent(profile)


def _transparency(array: SourcedArray) -> Iterator[Diagnostic]:
    """Layer 4 is always transparent (Kemp), and layer 7 is with ``transparent: true``: the
    members must route back through the LoadMaster, and cannot be non-local. Cookie
    persistence (which needs layer 7) cannot be had at layer 4."""
    spec = array.spec
    for service in _offered_services(spec):
        profile = spec.profile(service)
        if not _is_transparent(spec, service, profile):
            continue
        layer_4 = profile.layer == 4
        if layer_4 and spec.override(service).transparent is False:
            yield array.diagnostic(
                "error",
                ("overrides", service, "transparent"),
                f"{service}: layer 4 is always transparent, so transparent: false cannot be "
                "had there; remove layer: 4 or transparent: false",
            )
            continue
        if layer_4 and profile.persistence in LAYER_7_PERSISTENCE:
            yield array.diagnostic(
                "error",
                ("overrides", service, "layer"),
                f"{service}: {profile.persistence} persistence needs layer 7 (the appliance "
                "offers no Force L4 with cookie persistence); remove layer: 4 or choose src",
            )
            continue
        how, fix = (
            ("at layer 4 is transparent", "the default, layer 7, needs no routing change")
            if layer_4
            else (
                "is transparent (transparent: true)",
                "without it the members need no routing change but see the LoadMaster's "
                "address instead of the client's",
            )
        )
        yield array.diagnostic(
            "warning",
            ("overrides", service, "layer" if layer_4 else "transparent"),
            f"{service} {how}: every member's default gateway must be the LoadMaster (its "
            f"shared IP in an HA pair) and clients cannot be on the members' subnet; {fix}",
        )
        for location, member in _members_with_location(spec, service):
            if member.non_local:
                yield _non_local_transparent(
                    array, service, profile, member.name, location, "non_local: true"
                )


def _members_with_location(
    spec: ArraySpec, service: str
) -> Iterator[tuple[tuple[str | int, ...], MemberSpec]]:
    """The members of ``service`` with where each is written in the spec."""
    own = spec.override(service).members
    where: tuple[str, ...] = ("overrides", service, "members") if own else ("members",)
    for index, member in enumerate(spec.members_of(service)):
        yield (*where, index), member


def _non_local_transparent(
    array: SourcedArray,
    service: str,
    profile: ServiceProfile,
    member: str,
    location: Sequence[str | int],
    why: str,
) -> Diagnostic:
    how, fix = (
        (
            "runs at layer 4, which is always transparent",
            "run the service at layer 7 (remove layer: 4)",
        )
        if profile.layer == 4
        else ("is transparent (transparent: true)", "remove transparent: true")
    )
    return array.diagnostic(
        "error",
        location,
        f"member {member} is non-local ({why}), and {service} {how}: the appliance cannot use "
        f"transparency with non-local real servers; {fix}",
    )


def _single_member(array: SourcedArray) -> Iterator[Diagnostic]:
    if len(array.spec.members) == 1:
        yield array.diagnostic(
            "warning",
            ("members",),
            f"the {array.noun} has one member: no failover when it is down; add a second server",
        )


def _weights_ignored(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    if spec.scheduling in WEIGHTED_SCHEDULING:
        return
    for index, member in enumerate(spec.members):
        if member.weight is not None:
            yield array.diagnostic(
                "warning",
                ("members", index, "weight"),
                f"member {member.name} has weight {member.weight}, but scheduling "
                f"{spec.scheduling} ignores weights; use scheduling: wrr (or wlc) or remove "
                "the weight",
            )
            return


def _idle_timeouts(array: SourcedArray) -> Iterator[Diagnostic]:
    """An idle timeout override that cuts connections Exchange keeps open: a long-lived
    service's at or below the servers' keep-alive (https: or the Direct Push heartbeat), an
    IMAP4/POP3 service's below Exchange's 30-minute session timeout."""
    spec = array.spec
    for service, override in _offered_overrides(spec):
        if override.idle_timeout is None:
            continue
        idle = override.idle_timeout or APPLIANCE_IDLE_TIMEOUT
        shown = f"{idle} s" if override.idle_timeout else f"0 (the appliance's {idle} s)"
        base = spec.default_profile(service)
        location = ("overrides", service, "idle_timeout")
        problem = None
        if base.outlives_keepalive and idle <= spec.keepalive_time:
            problem = (
                f"is not above the members' TCP keep-alive ({spec.keepalive_time} s, "
                "keepalive_time): the LoadMaster cuts idle Outlook connections before Windows "
                "probes them"
            )
        elif service == "https" and idle <= DIRECT_PUSH_MAX_HEARTBEAT:
            problem = (
                f"is not above ActiveSync's longest Direct Push heartbeat "
                f"({DIRECT_PUSH_MAX_HEARTBEAT} s): idle push requests are cut and devices "
                "fall back to shorter heartbeats"
            )
        elif idle <= base.min_idle_timeout:
            problem = (
                f"is not above Exchange's {base.min_idle_timeout} s idle session timeout "
                "(AuthenticatedConnectionTimeout): mail clients are cut while Exchange still "
                "keeps their session"
            )
        if problem is not None:
            default = base.idle_timeout
            yield array.diagnostic(
                "warning",
                location,
                f"idle timeout {shown} on {service} {problem}; remove the override for "
                f"lmctl's {default} s",
            )


def _own_members(array: SourcedArray) -> Iterator[Diagnostic]:
    """Only the transport services name members of their own, each listed once."""
    for service, override in array.spec.overrides.items():
        if override.members is None:
            continue
        if service not in TRANSPORT_SERVICES:
            allowed = " and ".join(sorted(TRANSPORT_SERVICES))
            yield array.diagnostic(
                "error",
                ("overrides", service, "members"),
                f"only {allowed} may name members of their own (SMTP is transport: on 2010 the "
                f"Hub Transport servers); {service} is served by the {array.noun}'s members: "
                "remove members here",
            )
            continue
        yield from _listed_once(array, override.members, ("overrides", service, "members"))


ARRAY_RULES = (
    _member_declarations,
    _duplicate_members,
    _fqdn,
    _rpc_ports,
    _missing_rpc_ports,
    _healthcheck_htm_where_none,
    _layout,
    _rpc_without_rpc_over_tcp,
    _services_listed_once,
    _overrides_published,
    _redirect_layer,
    _persistence_timeout_alone,
    _check_url_without_url_check,
    _transparency,
    _single_member,
    _idle_timeouts,
    _weights_ignored,
    _rolling_upgrade,
    _own_members,
)


# Rules across every array of the set.


def _unique_names(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    first: dict[str, SourcedArray] = {}
    for array in arrays:
        other = first.setdefault(array.spec.name, array)
        if other is not array:
            yield array.diagnostic(
                "error",
                ("name",),
                f"name '{array.spec.name}' is already used by {other.where()}; "
                "every spec needs a name of its own",
            )


def _one_cas_array_per_site(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    """An error on each further CAS array of an AD site, naming both files and lines.

    Only Exchange 2010 has the array object, one per site (``New-ClientAccessArray -Site``);
    a site may publish several 2013+ namespaces (each with its own FQDN and VIP). "Further" is
    in reading order, so the same specs give the same report on every machine.
    """
    groups: dict[str, list[SourcedArray]] = {}
    for array in arrays:
        if array.spec.exchange.family.has_cas_array:
            groups.setdefault(array.spec.site.casefold(), []).append(array)
    for first, *others in groups.values():
        for array in others:
            yield array.diagnostic(
                "error",
                ("site",),
                f"AD site '{excerpt(array.spec.site)}' has two Exchange 2010 CAS arrays: "
                f"'{first.spec.name}' ({first.at('site')}) and '{array.spec.name}' "
                f"({array.at('site')}); a site has one CAS array (New-ClientAccessArray -Site): "
                "merge the two specs",
            )


def _servers_in_one_array(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    """A CAS of a 2010 array serves that array only; a 2013+ server may serve several
    namespaces. The transport services' own members are not CAS members."""
    first: dict[tuple[str, object], SourcedArray] = {}
    for array in arrays:
        for index, member in enumerate(array.spec.members):
            keys = (("name", member.name.casefold()), ("address", ip_value(member.address)))
            for kind, value in keys:
                other = first.setdefault((kind, value), array)
                cas_array = other.spec.exchange.family.has_cas_array or (
                    array.spec.exchange.family.has_cas_array
                )
                if other is not array and cas_array:
                    yield array.diagnostic(
                        "error",
                        ("members", index, kind),
                        f"server {kind} '{getattr(member, kind)}' is already a member of "
                        f"{other.where()}; a server belongs to one array only (a 2013+ "
                        "server may serve several namespaces)",
                    )


def _vip_not_member(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    members = {
        ip_value(m.address): (a, m.name)
        for a in arrays
        for service in a.spec.enabled_services
        for m in a.spec.members_of(service)
    }
    for array in arrays:
        vip = ip_value(array.spec.vip)
        if vip in members:
            owner, name = members[vip]
            yield array.diagnostic(
                "error",
                ("vip",),
                f"VIP {array.spec.vip} is the address of server {name} in {owner.where()}; "
                "the VIP must be an address of its own",
            )


def _listening_ports(spec: ArraySpec) -> Iterator[tuple[str, str, str]]:
    """(service, port, protocol) for every port each service of ``spec`` listens on."""
    static = spec.rpc_ports is not None
    for service in spec.enabled_services:
        yield service, vip_port(service, static), "tcp"
        if service == "rpc" and spec.rpc_ports is not None:
            for port in spec.rpc_ports.as_tuple():
                yield service, str(port), "tcp"


def _unique_listeners(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    first: dict[tuple[str, object, str, str], tuple[SourcedArray, str]] = {}
    for array in arrays:
        spec = array.spec
        vip = ip_value(spec.vip)
        for service, port, protocol in _listening_ports(spec):
            key = (spec.appliance, vip, port, protocol)
            other, other_service = first.setdefault(key, (array, service))
            if other is array and other_service == service:
                continue
            if other is array:
                # Within one array only the rpc extra ports can land on another service's port.
                yield array.diagnostic(
                    "error",
                    ("rpc_ports",),
                    f"services '{other_service}' and '{service}' of this array both listen on "
                    f"{spec.vip}:{port}/{protocol}; choose static RPC ports that no other "
                    "service uses, e.g. 60000 and 60001",
                )
                continue
            yield array.diagnostic(
                "error",
                ("vip",),
                f"service '{service}' listens on {spec.vip}:{port}/{protocol} on appliance "
                f"'{excerpt(spec.appliance)}', which service '{other_service}' of {other.where()} "
                f"already uses; give each {array.noun} its own VIP",
            )


def _unique_fqdns(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    first: dict[str, SourcedArray] = {}
    for array in arrays:
        other = first.setdefault(array.spec.fqdn.rstrip(".").casefold(), array)
        if other is not array:
            yield array.diagnostic(
                "error",
                ("fqdn",),
                f"FQDN '{excerpt(array.spec.fqdn)}' is already the FQDN of {other.where()}; "
                f"each {array.noun} needs its own",
            )


def _array_fqdn_not_published(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    """A 2010 CAS array FQDN is none of the client host names of any other spec (its own are
    checked by ``_fqdn``; 2013+ namespaces by ``_unique_fqdns``)."""
    for array in arrays:
        if not array.spec.exchange.family.has_cas_array:
            continue
        fqdn = array.spec.fqdn.rstrip(".").casefold()
        for other in arrays:
            if other is array:
                continue
            for index, name in enumerate(other.spec.client_hostnames):
                if name.rstrip(".").casefold() == fqdn:
                    line = other.document.line_of(("client_hostnames", index))
                    yield array.diagnostic(
                        "error",
                        ("fqdn",),
                        f"the array FQDN '{excerpt(array.spec.fqdn)}' is a client host name of "
                        f"{other.where()} (client_hostnames, {other.document.display}:{line}); "
                        f"{_ARRAY_FQDN_IS_INTERNAL}",
                    )


def _end_of_support(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    """One notice per version past Microsoft's end of support, whether a spec or one of its
    members runs it, on the first place it is found, naming the specs that hold it and where to
    move: information, never a failure."""
    found: dict[int, list[tuple[SourcedArray, tuple[str | int, ...]]]] = {}
    for array in arrays:
        versions: list[tuple[ExchangeVersion, tuple[str | int, ...]]] = [
            (array.spec.exchange, ("exchange",))
        ] + [
            (member.exchange, ("members", index, "exchange"))
            for index, member in enumerate(array.spec.members)
            if member.exchange is not None
        ]
        for version, location in versions:
            found.setdefault(version.major, []).append((array, location))
    for major, places in found.items():
        (first, where), *_ = places
        holders = [array.spec.name for array, _ in places]
        message = end_of_support_message(major, holders)
        if message is not None:
            yield first.diagnostic("notice", where, message)


def end_of_support_message(major: int, holders: Sequence[str]) -> str | None:
    """The notice that Exchange ``major``, which ``holders`` (array names) run, is past
    Microsoft's end of support; None while it is supported."""
    family = ExchangeVersion(major, "RTM").family
    if family.end_of_support is None:
        return None
    return (
        f"Exchange {family.name} ({', '.join(dict.fromkeys(holders))}) reached the end of "
        f"Microsoft's support on {family.end_of_support}: no more security updates; move to "
        f"{family.move_to}"
    )


SET_RULES = (
    _unique_names,
    _one_cas_array_per_site,
    _servers_in_one_array,
    _vip_not_member,
    _unique_listeners,
    _unique_fqdns,
    _array_fqdn_not_published,
    _end_of_support,
)


def _appliance_known(
    arrays: Iterable[SourcedArray], inventory: Inventory | None, inventory_file: str | None
) -> Iterator[Diagnostic]:
    """An error for each array whose ``appliance`` is not in the inventory (or when none)."""
    known = inventory.appliances if inventory is not None else {}
    for array in arrays:
        if array.spec.appliance in known:
            continue
        if inventory is None:
            problem = (
                "no inventory was found: lmctl looks among the spec files and, beside them, for "
                "appliances.yaml (a file whose top-level key is appliances:); create one next "
                "to the specs"
            )
        else:
            names = ", ".join(sorted(known)) or "none"
            problem = f"the inventory {inventory_file} has no such appliance (known: {names})"
        yield array.diagnostic(
            "error", ("appliance",), f"appliance '{excerpt(array.spec.appliance)}': {problem}"
        )


def _non_local_members_transparent(
    arrays: Iterable[SourcedArray], inventory: Inventory | None
) -> Iterator[Diagnostic]:
    """Members the inventory makes non-local (``local_subnets``, ``non_local: true``) in a
    transparent service; a member that says ``non_local: true`` itself is reported by
    ``_transparency``."""
    for array in arrays:
        appliance = inventory.appliance(array.spec.appliance) if inventory is not None else None
        if appliance is None:
            continue
        spec = array.spec
        reported: set[str] = set()
        for service in _offered_services(spec):
            profile = spec.profile(service)
            if not _is_transparent(spec, service, profile):
                continue
            for location, member in _members_with_location(spec, service):
                key = "/".join(map(str, location))
                if member.non_local is not None or appliance.is_local(member.address):
                    continue
                if key in reported:
                    continue
                reported.add(key)
                why = (
                    f"appliance {spec.appliance} has non_local: true"
                    if appliance.non_local
                    else f"outside the local_subnets of appliance {spec.appliance}"
                )
                yield _non_local_transparent(
                    array, service, profile, member.name, (*location, "address"), why
                )


def check_specs(
    arrays: Sequence[SourcedArray],
    inventory: Inventory | None,
    inventory_file: str | None,
    *,
    check_appliances: bool = True,
) -> list[Diagnostic]:
    """Every diagnostic of every rule, for the arrays and inventory that parsed.

    ``check_appliances`` False skips "the appliance is in the inventory" (when the inventory
    itself failed to load, its own errors say what to fix).
    """
    found: list[Diagnostic] = []
    for array in arrays:
        for rule in ARRAY_RULES:
            found.extend(rule(array))
    for set_rule in SET_RULES:
        found.extend(set_rule(arrays))
    if check_appliances:
        found.extend(_appliance_known(arrays, inventory, inventory_file))
        found.extend(_non_local_members_transparent(arrays, inventory))
    return found
