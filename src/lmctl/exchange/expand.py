"""Expansion: one validated array spec → the virtual services it wants. Pure: no I/O.

The desired state is plain frozen values (no I/O, no appliance indexes): reconcile and status
compare them with what the appliance reports (``lmctl.loadmaster.models``). Each service's
settings start from its profile in ``lmctl.releases``, with the array's overrides applied.
"""

from __future__ import annotations

from lmctl.appliance.state import Owner
from lmctl.exchange.desired import DEFAULT_WEIGHT, DesiredRealServer, DesiredVirtualService
from lmctl.exchange.directories import PARENT_SERVICE, parent_settings, sub_services
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings
from lmctl.releases import SERVICE_PORTS, ServiceName, ServiceProfile, vip_port
from lmctl.specs.array import ArraySpec, MemberSpec
from lmctl.specs.inventory import ApplianceSpec
from lmctl.specs.loader import SpecSet


def expand(
    array: ArraySpec, appliance: ApplianceSpec | None = None
) -> tuple[DesiredVirtualService, ...]:
    """The desired virtual services of ``array``, one per published service, in its profile's
    order (the release's, however the spec lists them), so every command shows them alike.

    ``appliance`` (the inventory entry that serves the array) says which members are non-local.
    """
    order = list(array.exchange.family.profiles)
    services = sorted(array.enabled_services, key=order.index)
    return tuple(_virtual_service(array, appliance, s) for s in services)


def expand_all(spec_set: SpecSet) -> dict[str, tuple[DesiredVirtualService, ...]]:
    """Desired virtual services per appliance name, for every appliance in the inventory, in
    the specs' order: the appliances as their first array comes in the specs (then those that
    serve none, in the inventory's order), each one's services array by array as loaded, each
    array's in its profile's order.

    An appliance that serves no array maps to an empty tuple: lmctl-owned services left on it
    are then no longer wanted.
    """
    # The specs' order: appliances as their first array comes, then those that serve none.
    serving = [array.appliance for array in spec_set.arrays]
    by_appliance: dict[str, list[DesiredVirtualService]] = {
        name: [] for name in [*serving, *spec_set.inventory.appliances]
    }
    for array in spec_set.arrays:
        appliance = spec_set.inventory.appliance(array.appliance)
        by_appliance.setdefault(array.appliance, []).extend(expand(array, appliance))
    return {name: tuple(services) for name, services in by_appliance.items()}


def _virtual_service(
    array: ArraySpec, appliance: ApplianceSpec | None, service: ServiceName
) -> DesiredVirtualService:
    profile = array.profile(service)
    if service == PARENT_SERVICE and array.layout == "per-protocol":
        return _parent(array, appliance, profile)
    key = VirtualServiceKey(
        address=array.vip, port=vip_port(service, array.rpc_ports is not None), protocol="tcp"
    )
    extra_ports = None
    if service == "rpc" and array.rpc_ports is not None:
        extra_ports = ",".join(str(port) for port in array.rpc_ports.as_tuple())
    # At layer 4 the appliance is always transparent: lmctl neither writes nor compares the
    # layer 7 networking settings there. Subnet-originating requests only matter without
    # transparency (the LoadMaster's own address is then the source).
    layer_7 = profile.layer == 7
    return DesiredVirtualService(
        appliance=array.appliance,
        array=array.name,
        service=service,
        key=key,
        settings=VirtualServiceSettings(
            NickName=Owner(array=array.name, service=service).marker(),
            Enable=True,
            VStype=profile.vs_type,
            # A fixed redirect has no real server to schedule: its Schedule has no effect and
            # lmctl neither writes nor compares it (an adopted redirect keeps its own).
            Schedule=array.scheduling if profile.has_real_servers else None,
            Persist=profile.persistence,
            PersistTimeout=profile.persistence_timeout,
            Idletime=profile.idle_timeout,
            CheckType=profile.check_type,
            CheckUrl=profile.check_url,
            CheckPort=profile.check_port,
            ExtraPorts=extra_ports,
            Layer=profile.layer,
            Transparent=profile.transparent if layer_7 else None,
            SubnetOriginating=True if layer_7 and not profile.transparent else None,
            ErrorCode=profile.error_code,
            ErrorUrl=profile.error_url,
        ),
        real_servers=_real_servers(array, appliance, service) if profile.has_real_servers else (),
    )


def _parent(
    array: ArraySpec, appliance: ApplianceSpec | None, profile: ServiceProfile
) -> DesiredVirtualService:
    """The per-protocol layout's HTTPS VS: its SubVSs hold the members (``directories``)."""
    members = _real_servers(array, appliance, PARENT_SERVICE)
    return DesiredVirtualService(
        appliance=array.appliance,
        array=array.name,
        service=PARENT_SERVICE,
        key=VirtualServiceKey(
            address=array.vip, port=vip_port(PARENT_SERVICE, False), protocol="tcp"
        ),
        settings=parent_settings(array, profile),
        sub_services=sub_services(array, profile, members),
    )


def _real_servers(
    array: ArraySpec, appliance: ApplianceSpec | None, service: ServiceName
) -> tuple[DesiredRealServer, ...]:
    # A wildcard rpc VS (no static ports) still names port 135 for its real servers: the
    # appliance forwards each connection to the port the client asked for.
    port = SERVICE_PORTS[service]
    return tuple(
        DesiredRealServer(
            member=member.name,
            address=member.address,
            port=port,
            weight=member.weight if member.weight is not None else DEFAULT_WEIGHT,
            forward="nat",
            enable=member.enabled,
            non_local=non_local(member, appliance),
        )
        for member in array.members_of(service)
    )


def non_local(member: MemberSpec, appliance: ApplianceSpec | None) -> bool:
    """Whether ``member`` is added as a non-local real server: its own setting, else the
    inventory's (``non_local: true``, or outside the appliance's ``local_subnets``)."""
    if member.non_local is not None:
        return member.non_local
    return appliance is not None and not appliance.is_local(member.address)
