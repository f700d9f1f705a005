"""Validation of a whole set of specs: the rules of the table in ``docs/specs.md``.

Each rule is a small generator of diagnostics. Per-array rules look at one spec; set rules
compare every array with every other (sites, servers, VIPs and ports, FQDNs, appliances).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from lmctl.specs.array import ArraySpec
from lmctl.specs.diagnostics import Diagnostic, Severity
from lmctl.specs.inventory import Inventory
from lmctl.specs.locations import field_path
from lmctl.specs.services import vip_port
from lmctl.specs.yaml_source import YamlDocument

RPC_ENDPOINT_MAPPER = 135
RECOMMENDED_RPC_RANGE = (59531, 60554)
RPC_IDLE_MINIMUM = 7200
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class SourcedArray:
    """A validated array spec together with the file it came from (for line numbers)."""

    spec: ArraySpec
    document: YamlDocument

    def diagnostic(
        self, severity: Severity, location: Sequence[str | int], message: str
    ) -> Diagnostic:
        """A diagnostic pointing at ``location`` inside this array's file."""
        return Diagnostic(
            severity=severity,
            file=self.document.display,
            line=self.document.line_of(location),
            field=field_path(location),
            message=message,
        )

    def where(self) -> str:
        """``array 'hq-cas' (arrays/hq.yaml:2)`` for messages that point at another array."""
        return (
            f"array '{self.spec.name}' ({self.document.display}:{self.document.line_of(('name',))})"
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
        for rule in _ARRAY_RULES:
            found.extend(rule(array))
    for set_rule in _SET_RULES:
        found.extend(set_rule(arrays))
    if check_appliances:
        found.extend(_appliance_known(arrays, inventory, inventory_file))
    return found


# --- rules about one array ---------------------------------------------------------------


def _member_versions(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    for index, member in enumerate(spec.members):
        if member.exchange is not None and member.exchange != spec.exchange:
            yield array.diagnostic(
                "error",
                ("members", index, "exchange"),
                f"member {member.name} runs Exchange {member.exchange} but the array is Exchange "
                f"{spec.exchange}; one array cannot mix versions or service packs",
            )


def _member_sites(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    for index, member in enumerate(spec.members):
        if member.site is not None and member.site.casefold() != spec.site.casefold():
            yield array.diagnostic(
                "error",
                ("members", index, "site"),
                f"member {member.name} is in AD site '{member.site}' but the array is in site "
                f"'{spec.site}'; a CAS array cannot span AD sites",
            )


def _duplicate_members(array: SourcedArray) -> Iterator[Diagnostic]:
    seen: dict[str, int] = {}
    for index, member in enumerate(array.spec.members):
        for kind, value in (("name", member.name.casefold()), ("address", member.address)):
            first = seen.setdefault(f"{kind}:{value}", index)
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
    if not spec.exchange.has_cas_arrays:
        yield array.diagnostic(
            "error",
            ("rpc_ports",),
            f"static RPC ports exist only on Exchange 2010; Exchange {spec.exchange.major} "
            "has no RPC over TCP: remove rpc_ports",
        )
        return
    ports = spec.rpc_ports
    for key, port in (("client_access", ports.client_access), ("address_book", ports.address_book)):
        location = ("rpc_ports", key)
        if port == RPC_ENDPOINT_MAPPER:
            yield array.diagnostic(
                "error", location, "port 135 is the RPC endpoint mapper; choose a static port"
            )
        elif not 1024 <= port <= 65535:
            yield array.diagnostic(
                "error", location, f"port {port} is outside 1024-65535; choose e.g. 60000"
            )
        elif not RECOMMENDED_RPC_RANGE[0] <= port <= RECOMMENDED_RPC_RANGE[1]:
            low, high = RECOMMENDED_RPC_RANGE
            yield array.diagnostic(
                "warning",
                location,
                f"port {port} is outside {low}-{high}, the range usually chosen for static "
                "RPC ports (it may clash with Windows' dynamic ports)",
            )
    if ports.client_access == ports.address_book:
        yield array.diagnostic(
            "error",
            ("rpc_ports", "address_book"),
            f"client_access and address_book are both {ports.client_access}; "
            "they must be two different ports",
        )


def _member_rpc_ports(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    for index, member in enumerate(spec.members):
        if member.rpc_ports is None or member.rpc_ports == spec.rpc_ports:
            continue
        wanted = "none" if spec.rpc_ports is None else str(spec.rpc_ports.as_tuple())
        yield array.diagnostic(
            "error",
            ("members", index, "rpc_ports"),
            f"member {member.name} has static RPC ports {member.rpc_ports.as_tuple()} but the "
            f"array's are {wanted}; every member must use the same static ports",
        )


def _missing_rpc_ports(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    if spec.exchange.has_cas_arrays and spec.rpc_ports is None and "rpc" in spec.enabled_services:
        yield array.diagnostic(
            "warning",
            ("exchange",),
            "no static RPC ports (rpc_ports:): the rpc virtual service must take every port (*); "
            "set static ports on every CAS, e.g. rpc_ports: {client_access: 60000, "
            "address_book: 60001}",
        )


def _healthcheck_htm_on_2010(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    if not spec.exchange.has_cas_arrays:
        return
    for service, override in spec.overrides.items():
        check = override.health_check
        if check is not None and check.url is not None and "healthcheck.htm" in check.url.lower():
            yield array.diagnostic(
                "error",
                ("overrides", service, "health_check", "url"),
                f"'{check.url}': Exchange 2010 has no healthcheck.htm; "
                "probe e.g. /owa/auth/logon.aspx",
            )


def _rpc_on_modern(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    if spec.exchange.has_cas_arrays:
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
                "error", ("services", index), f"service '{service}' is listed twice"
            )
        seen.add(service)


def _overrides_published(array: SourcedArray) -> Iterator[Diagnostic]:
    spec = array.spec
    published = spec.enabled_services
    for service in spec.overrides:
        if service not in published and not (service == "rpc" and not spec.exchange.has_cas_arrays):
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


def _rpc_idle_timeout(array: SourcedArray) -> Iterator[Diagnostic]:
    override = array.spec.overrides.get("rpc")
    if override is None or override.idle_timeout is None:
        return
    if override.idle_timeout < RPC_IDLE_MINIMUM:
        yield array.diagnostic(
            "warning",
            ("overrides", "rpc", "idle_timeout"),
            f"idle timeout {override.idle_timeout} s on rpc is below {RPC_IDLE_MINIMUM} s "
            "(Windows' 2-hour TCP keep-alive): idle Outlook connections will be cut",
        )


_ARRAY_RULES = (
    _member_versions,
    _member_sites,
    _duplicate_members,
    _fqdn,
    _rpc_ports,
    _member_rpc_ports,
    _missing_rpc_ports,
    _healthcheck_htm_on_2010,
    _rpc_on_modern,
    _services_listed_once,
    _overrides_published,
    _redirect_layer,
    _single_member,
    _rpc_idle_timeout,
)


# --- rules across all arrays ---------------------------------------------------------------


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
    first: dict[tuple[str, int], SourcedArray] = {}
    for array in arrays:
        key = (array.spec.site.casefold(), array.spec.exchange.major)
        other = first.setdefault(key, array)
        if other is not array:
            yield array.diagnostic(
                "error",
                ("site",),
                f"AD site '{array.spec.site}' already has an Exchange {key[1]} array: "
                f"{other.where()}; a site has one array per Exchange version",
            )


def _servers_in_one_array(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    first: dict[str, SourcedArray] = {}
    for array in arrays:
        for index, member in enumerate(array.spec.members):
            for kind, value in (("name", member.name.casefold()), ("address", member.address)):
                other = first.setdefault(f"{kind}:{value}", array)
                if other is not array:
                    yield array.diagnostic(
                        "error",
                        ("members", index, kind),
                        f"server {kind} '{getattr(member, kind)}' is already a member of "
                        f"{other.where()}; a server belongs to one array only",
                    )


def _vip_not_member(arrays: Sequence[SourcedArray]) -> Iterator[Diagnostic]:
    members = {m.address: (a, m.name) for a in arrays for m in a.spec.members}
    for array in arrays:
        if array.spec.vip in members:
            owner, name = members[array.spec.vip]
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
    first: dict[tuple[str, str, str, str], tuple[SourcedArray, str]] = {}
    for array in arrays:
        spec = array.spec
        for service, port, protocol in _listening_ports(spec):
            key = (spec.appliance, spec.vip, port, protocol)
            other, other_service = first.setdefault(key, (array, service))
            if other is array and other_service == service:
                continue
            yield array.diagnostic(
                "error",
                ("vip",),
                f"service '{service}' listens on {spec.vip}:{port}/{protocol} on appliance "
                f"'{spec.appliance}', which service '{other_service}' of {other.where()} "
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
                f"FQDN '{array.spec.fqdn}' is already the FQDN of {other.where()}; "
                "each array needs its own",
            )


_SET_RULES = (
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
            "error", ("appliance",), f"appliance '{array.spec.appliance}': {problem}"
        )
