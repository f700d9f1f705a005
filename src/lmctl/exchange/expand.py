"""Expansion: one validated array spec → the virtual services it wants. Pure: no I/O.

The desired state is plain frozen values (no I/O, no appliance indexes): reconcile and status
compare them with what the appliance reports (``lmctl.loadmaster.models``). Each service's
settings start from its profile in ``lmctl.releases``, with the array's overrides applied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from lmctl.appliance.state import Owner
from lmctl.loadmaster.models import Address, VirtualServiceKey, VirtualServiceSettings
from lmctl.releases import (
    DEFAULT_PERSISTENCE_TIMEOUT,
    SERVICE_PORTS,
    Layer,
    ServiceName,
    ServiceProfile,
    vip_port,
)
from lmctl.specs.array import ArraySpec, ServiceOverride
from lmctl.specs.loader import SpecSet

DEFAULT_WEIGHT = 1000


class DesiredRealServer(BaseModel):
    """One array member as a real server of one virtual service.

    ``enable`` is None unless the spec sets it: an operator's drain is then left alone.
    """

    model_config = ConfigDict(frozen=True)

    member: str
    address: Address
    port: int
    weight: int = DEFAULT_WEIGHT
    forward: str = "nat"
    enable: bool | None = None


class DesiredVirtualService(BaseModel):
    """One service of one array, as the virtual service it must be on its appliance."""

    model_config = ConfigDict(frozen=True)

    appliance: str
    array: str
    service: str
    key: VirtualServiceKey
    settings: VirtualServiceSettings
    real_servers: tuple[DesiredRealServer, ...] = ()

    @property
    def owner(self) -> Owner:
        """The ownership marker this VS carries in its NickName."""
        return Owner(array=self.array, service=self.service)


# The LoadMaster ``VStype`` of each layer: 4 → ``gen`` (TCP pass-through), 7 → ``http``.
_VS_TYPES: dict[Layer, str] = {4: "gen", 7: "http"}


def expand(array: ArraySpec) -> tuple[DesiredVirtualService, ...]:
    """The desired virtual services of ``array``, one per published service, in spec order."""
    return tuple(_virtual_service(array, service) for service in array.enabled_services)


def expand_all(spec_set: SpecSet) -> dict[str, tuple[DesiredVirtualService, ...]]:
    """Desired virtual services per appliance name, for every appliance in the inventory.

    An appliance that serves no array maps to an empty tuple: lmctl-owned services left on it
    are then no longer wanted.
    """
    by_appliance: dict[str, list[DesiredVirtualService]] = {
        name: [] for name in spec_set.inventory.appliances
    }
    for array in spec_set.arrays:
        by_appliance.setdefault(array.appliance, []).extend(expand(array))
    return {name: tuple(services) for name, services in by_appliance.items()}


def effective_profile(base: ServiceProfile, override: ServiceOverride) -> ServiceProfile:
    """``base`` with the spec's overrides applied (only the keys the spec sets)."""
    changes = _persistence_changes(base, override)
    changes.update(_set_keys(override, _OVERRIDE_FIELDS))
    if override.health_check is not None:
        changes.update(_set_keys(override.health_check, _HEALTH_CHECK_FIELDS))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# Spec key → ServiceProfile field, for the overrides that are copied as they are.
_OVERRIDE_FIELDS = {"idle_timeout": "idle_timeout", "layer": "layer"}
_HEALTH_CHECK_FIELDS = {"type": "check_type", "url": "check_url", "port": "check_port"}


def _set_keys(spec_part: BaseModel, fields: Mapping[str, str]) -> dict[str, object]:
    """The profile fields whose spec keys ``spec_part`` sets (None = not set)."""
    chosen = {target: getattr(spec_part, key) for key, target in fields.items()}
    return {target: value for target, value in chosen.items() if value is not None}


def _persistence_changes(base: ServiceProfile, override: ServiceOverride) -> dict[str, object]:
    if override.persistence is None:
        if override.persistence_timeout is None:
            return {}
        return {"persistence_timeout": override.persistence_timeout}
    if override.persistence == "none":
        return {"persistence": None, "persistence_timeout": 0}
    # Turning persistence on for a service without it needs a timeout: the base's or a default.
    timeout = (
        override.persistence_timeout or base.persistence_timeout or DEFAULT_PERSISTENCE_TIMEOUT
    )
    return {"persistence": override.persistence, "persistence_timeout": timeout}


def _virtual_service(array: ArraySpec, service: ServiceName) -> DesiredVirtualService:
    base = array.exchange.family.profile(service)
    settings = effective_profile(base, array.override(service))
    key = VirtualServiceKey(
        address=array.vip, port=vip_port(service, array.rpc_ports is not None), protocol="tcp"
    )
    extra_ports = None
    if service == "rpc" and array.rpc_ports is not None:
        extra_ports = ",".join(str(port) for port in array.rpc_ports.as_tuple())
    return DesiredVirtualService(
        appliance=array.appliance,
        array=array.name,
        service=service,
        key=key,
        settings=VirtualServiceSettings(
            NickName=Owner(array=array.name, service=service).marker(),
            Enable=True,
            VStype=_VS_TYPES[settings.layer],
            Schedule=array.scheduling,
            Persist=settings.persistence,
            PersistTimeout=settings.persistence_timeout,
            Idletime=settings.idle_timeout,
            CheckType=settings.check_type,
            CheckUrl=settings.check_url,
            CheckPort=settings.check_port,
            ExtraPorts=extra_ports,
            Transparent=False,
            SubnetOriginating=True,
            ErrorCode=settings.error_code,
            ErrorUrl=settings.error_url,
        ),
        real_servers=_real_servers(array, SERVICE_PORTS[service])
        if settings.has_real_servers
        else (),
    )


def _real_servers(array: ArraySpec, port: int) -> tuple[DesiredRealServer, ...]:
    # A wildcard rpc VS (no static ports) still names port 135 for its real servers: the
    # appliance forwards each connection to the port the client asked for.
    return tuple(
        DesiredRealServer(
            member=member.name,
            address=member.address,
            port=port,
            weight=member.weight if member.weight is not None else DEFAULT_WEIGHT,
            forward="nat",
            enable=member.enabled,
        )
        for member in array.members
    )
