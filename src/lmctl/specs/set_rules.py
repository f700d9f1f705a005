"""Validation rules across all array specs and the inventory (see ``docs/specs.md``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from lmctl.releases import vip_port
from lmctl.specs.array import ArraySpec, ip_value
from lmctl.specs.diagnostics import Diagnostic
from lmctl.specs.inventory import Inventory
from lmctl.specs.sourced import SourcedArray


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
        f"AD site '{array.spec.site}' has two Exchange {major} {kind}s: "
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


SET_RULES = (
    _unique_names,
    _one_array_per_site_and_version,
    _servers_in_one_array,
    _vip_not_member,
    _unique_listeners,
    _unique_fqdns,
)


def appliance_known(
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
            "error", ("appliance",), f"appliance '{array.spec.appliance}': {problem}"
        )
