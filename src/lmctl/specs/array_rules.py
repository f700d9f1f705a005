"""Validation rules about one array spec (see the table in ``docs/specs.md``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lmctl.releases import (
    FAMILIES,
    RPC_ENDPOINT_MAPPER,
    STATIC_RPC_RANGE,
    TCP_KEEPALIVE_SECONDS,
)
from lmctl.specs.array import ArraySpec, MemberSpec, ip_value
from lmctl.specs.diagnostics import Diagnostic, Severity
from lmctl.specs.sourced import SourcedArray

# The scheduling methods in which a real server's weight counts (fixed: the heaviest one wins).
WEIGHTED_SCHEDULING = frozenset({"wrr", "wlc", "fixed"})
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


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
            f"member {member.name} is in AD site '{member.site}' but the array is in site "
            f"'{spec.site}'; a CAS array cannot span AD sites",
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
            f"'{spec.fqdn}' is not a valid host name: expected dot-separated labels of letters, "
            "digits and hyphens, e.g. outlook-hq.corp.example.com",
        )
    published = {name.rstrip(".").casefold() for name in spec.client_hostnames}
    if fqdn.casefold() in published:
        yield array.diagnostic(
            "error",
            ("fqdn",),
            f"the array FQDN '{spec.fqdn}' is also a published client host name "
            "(client_hostnames); Outlook's RPC endpoint must differ from the OWA/EWS/"
            "ActiveSync/Autodiscover/Outlook Anywhere names",
        )


def is_host_name(name: str) -> bool:
    """True for an RFC 1123 host name of at least two labels, at most 253 characters."""
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.match(label) for label in labels)


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
                f"'{check.url}': Exchange {family.major} has no healthcheck.htm; "
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
    _single_member,
    _rpc_idle_timeout,
    _weights_ignored,
)
