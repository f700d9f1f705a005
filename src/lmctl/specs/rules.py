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
    FAMILIES,
    LAYER_7_PERSISTENCE,
    RPC_ENDPOINT_MAPPER,
    STATIC_RPC_RANGE,
    TCP_KEEPALIVE_SECONDS,
    URL_CHECKS,
    ServiceName,
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

    def where(self) -> str:
        """``array 'hq-cas' (arrays/hq.yaml:2)`` for messages that point at another array."""
        return f"array '{self.spec.name}' ({self.at('name')})"


# Rules about one array.


def _member_declarations(array: SourcedArray) -> Iterator[Diagnostic]:
    """A member's declared version, site and static RPC ports must equal the array's."""
    for index, member in enumerate(array.spec.members):
        for key, problem in _member_disagreements(array.spec, member):
            yield array.diagnostic("error", ("members", index, key), problem)


def _member_disagreements(spec: ArraySpec, member: MemberSpec) -> Iterator[tuple[str, str]]:
    """(key, message) for each fact the member declares differently from its array."""
    if member.exchange is not None and member.exchange != spec.exchange:
        yield (
            "exchange",
            f"member {member.name} runs Exchange {member.exchange} but the array is Exchange "
            f"{spec.exchange}; one array cannot mix versions or service packs",
        )
    if member.site is not None and member.site.casefold() != spec.site.casefold():
        yield (
            "site",
            f"member {member.name} is in AD site '{excerpt(member.site)}' but the array is in site "
            f"'{excerpt(spec.site)}'; a CAS array cannot span AD sites",
        )
    if member.rpc_ports is not None and member.rpc_ports != spec.rpc_ports:
        wanted = "none" if spec.rpc_ports is None else str(spec.rpc_ports.as_tuple())
        yield (
            "rpc_ports",
            f"member {member.name} has static RPC ports {member.rpc_ports.as_tuple()} but the "
            f"array's are {wanted}; every member must use the same static ports",
        )


def _duplicate_members(array: SourcedArray) -> Iterator[Diagnostic]:
    seen: dict[tuple[str, object], int] = {}
    for index, member in enumerate(array.spec.members):
        keys = (("name", member.name.casefold()), ("address", ip_value(member.address)))
        for kind, value in keys:
            first = seen.setdefault((kind, value), index)
            if first != index:
                yield array.diagnostic(
                    "error",
                    ("members", index, kind),
                    f"member {kind} '{getattr(member, kind)}' is listed twice "
                    f"(also members[{first}]); list each server once",
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
    published = {name.rstrip(".").casefold() for name in spec.client_hostnames}
    if fqdn.casefold() in published:
        yield array.diagnostic(
            "error",
            ("fqdn",),
            f"the array FQDN '{excerpt(spec.fqdn)}' is also a published client host name "
            "(client_hostnames); Outlook's RPC endpoint must differ from the OWA/EWS/"
            "ActiveSync/Autodiscover/Outlook Anywhere names",
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
        with_rpc = " and ".join(f"Exchange {f.major}" for f in FAMILIES if f.has_rpc_over_tcp)
        yield array.diagnostic(
            "error",
            ("rpc_ports",),
            f"static RPC ports exist only on {with_rpc}; Exchange {spec.exchange.major} "
            "has no RPC over TCP: remove rpc_ports",
        )
        return
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
                f"'{excerpt(check.url)}': Exchange {family.major} has no healthcheck.htm; "
                f"probe e.g. {family.profile('https').check_url}",
            )


def _rpc_without_rpc_over_tcp(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    if spec.exchange.family.offers("rpc"):
        return
    message = (
        f"Exchange {spec.exchange.major} has no RPC over TCP (clients use HTTPS): "
        "remove the rpc service"
    )
    for index, service in enumerate(spec.services or ()):
        if service == "rpc":
            yield array.diagnostic("error", ("services", index), message)
    if "rpc" in spec.overrides:
        yield array.diagnostic("error", ("overrides", "rpc"), message)


def _services_listed_once(array: SourcedArray) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    for index, service in enumerate(array.spec.services or ()):
        if service in seen:
            yield array.diagnostic(
                "error",
                ("services", index),
                f"service '{service}' is listed twice; list each service once",
            )
        seen.add(service)


def _overrides_published(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    published = spec.enabled_services
    for service in spec.overrides:
        # A service the version does not offer has its own error (rpc on 2013+).
        if service not in published and spec.exchange.family.offers(service):
            yield array.diagnostic(
                "error",
                ("overrides", service),
                f"override for '{service}', which the array does not publish "
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


def _layer_4(array: SourcedArray) -> Iterator[Diagnostic]:
    """Layer 4 is always transparent (Kemp): the members must route back through the
    LoadMaster, and cookie persistence (which needs layer 7) cannot be had there."""
    spec = array.spec
    for service in _offered_services(spec):
        profile = spec.profile(service)
        if profile.layer != 4 or service == "http-redirect":
            continue
        if profile.persistence in LAYER_7_PERSISTENCE:
            yield array.diagnostic(
                "error",
                ("overrides", service, "layer"),
                f"{service}: {profile.persistence} persistence needs layer 7 (the appliance "
                "offers no Force L4 with cookie persistence); remove layer: 4 or choose src",
            )
            continue
        yield array.diagnostic(
            "warning",
            ("overrides", service, "layer"),
            f"{service} at layer 4 is transparent: every member's default gateway must be the "
            "LoadMaster (its shared IP in an HA pair) and clients cannot be on the members' "
            "subnet; the default, layer 7, needs no routing change",
        )
        for index, member in enumerate(spec.members):
            if member.non_local:
                yield _non_local_at_layer_4(
                    array, service, member.name, ("members", index), "non_local: true"
                )


def _non_local_at_layer_4(
    array: SourcedArray, service: str, member: str, location: Sequence[str | int], why: str
) -> Diagnostic:
    return array.diagnostic(
        "error",
        location,
        f"member {member} is non-local ({why}), and {service} runs at layer 4, which is always "
        "transparent: the appliance cannot use transparency with non-local real servers; "
        "run the service at layer 7 (remove layer: 4)",
    )


def _single_member(array: SourcedArray) -> Iterator[Diagnostic]:
    if len(array.spec.members) == 1:
        yield array.diagnostic(
            "warning",
            ("members",),
            "the array has one member: no failover when it is down; add a second server",
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


def _rpc_idle_timeout(array: SourcedArray) -> Iterator[Diagnostic]:
    override = array.spec.overrides.get("rpc")
    if override is None or override.idle_timeout is None:
        return
    if override.idle_timeout < TCP_KEEPALIVE_SECONDS:
        yield array.diagnostic(
            "warning",
            ("overrides", "rpc", "idle_timeout"),
            f"idle timeout {override.idle_timeout} s on rpc is below {TCP_KEEPALIVE_SECONDS} s "
            "(Windows' 2-hour TCP keep-alive): idle Outlook connections will be cut",
        )


ARRAY_RULES = (
    _member_declarations,
    _duplicate_members,
    _fqdn,
    _rpc_ports,
    _missing_rpc_ports,
    _healthcheck_htm_where_none,
    _rpc_without_rpc_over_tcp,
    _services_listed_once,
    _overrides_published,
    _redirect_layer,
    _persistence_timeout_alone,
    _check_url_without_url_check,
    _layer_4,
    _single_member,
    _rpc_idle_timeout,
    _weights_ignored,
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
                f"array name '{array.spec.name}' is already used by {other.where()}; "
                "array names must be unique",
            )


def _one_array_per_site_and_version(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    """An error on each further array of a (site, version), naming both files and lines.

    "Further" is in reading order, so the same specs give the same report on every machine
    (a file's modification time would differ between a workstation and a fresh clone).
    """
    groups: dict[tuple[str, int], list[SourcedArray]] = {}
    for array in arrays:
        groups.setdefault((array.spec.site.casefold(), array.spec.exchange.major), []).append(array)
    for first, *others in groups.values():
        for array in others:
            yield _second_in_site(first, array)


def _second_in_site(first: SourcedArray, array: SourcedArray) -> Diagnostic:
    major = array.spec.exchange.major
    kind, advice = (
        ("array", "a site has one CAS array per Exchange version")
        if array.spec.exchange.family.has_cas_array
        else (
            "namespace",
            f"a site has one load-balanced Exchange {major} namespace: merge the two specs "
            "(list further host names under client_hostnames:)",
        )
    )
    return array.diagnostic(
        "error",
        ("site",),
        f"AD site '{excerpt(array.spec.site)}' has two Exchange {major} {kind}s: "
        f"'{first.spec.name}' ({first.at('site')}) and '{array.spec.name}' "
        f"({array.at('site')}); {advice}",
    )


def _servers_in_one_array(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    first: dict[tuple[str, object], SourcedArray] = {}
    for array in arrays:
        for index, member in enumerate(array.spec.members):
            keys = (("name", member.name.casefold()), ("address", ip_value(member.address)))
            for kind, value in keys:
                other = first.setdefault((kind, value), array)
                if other is not array:
                    yield array.diagnostic(
                        "error",
                        ("members", index, kind),
                        f"server {kind} '{getattr(member, kind)}' is already a member of "
                        f"{other.where()}; a server belongs to one array only",
                    )


def _vip_not_member(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    members = {ip_value(m.address): (a, m.name) for a in arrays for m in a.spec.members}
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
                "already uses; give each array its own VIP",
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
                "each array needs its own",
            )


SET_RULES = (
    _unique_names,
    _one_array_per_site_and_version,
    _servers_in_one_array,
    _vip_not_member,
    _unique_listeners,
    _unique_fqdns,
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
            problem = "no inventory was found (a YAML file whose top-level key is appliances:)"
        else:
            names = ", ".join(sorted(known)) or "none"
            problem = f"the inventory {inventory_file} has no such appliance (known: {names})"
        yield array.diagnostic(
            "error", ("appliance",), f"appliance '{excerpt(array.spec.appliance)}': {problem}"
        )


def _non_local_members_at_layer_4(
    arrays: Iterable[SourcedArray], inventory: Inventory | None
) -> Iterator[Diagnostic]:
    """Members the inventory makes non-local (``local_subnets``, ``non_local: true``) in a
    layer 4 service; a member that says ``non_local: true`` itself is reported by ``_layer_4``."""
    for array in arrays:
        appliance = inventory.appliance(array.spec.appliance) if inventory is not None else None
        if appliance is None:
            continue
        spec = array.spec
        layer_4 = [s for s in _offered_services(spec) if spec.profile(s).layer == 4]
        for service in layer_4[:1]:
            for index, member in enumerate(array.spec.members):
                if member.non_local is None and not appliance.is_local(member.address):
                    why = (
                        f"appliance {spec.appliance} has non_local: true"
                        if appliance.non_local
                        else f"outside the local_subnets of appliance {spec.appliance}"
                    )
                    yield _non_local_at_layer_4(
                        array, service, member.name, ("members", index, "address"), why
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
        found.extend(_non_local_members_at_layer_4(arrays, inventory))
    return found
