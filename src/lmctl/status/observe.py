"""Pure comparison of what an array wants with what its appliance reports, per service/member.

A service's virtual service is the one that carries its ownership marker
(``lmctl.<array>.<service>`` in the NickName), wherever it is: never a VS found only by address,
port and protocol, which may be a hand-made VS lmctl does not own. A VS on the service's key
without that marker is reported, not used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lmctl.desired import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import (
    RealServer,
    Statistics,
    VirtualService,
    VirtualServiceKey,
    wire_name,
    wire_value,
)
from lmctl.ownership import Owner, owner_of
from lmctl.reconcile.changes import FieldChange, FieldValue
from lmctl.reconcile.diff import settings_changes
from lmctl.reconcile.members import member_field_changes
from lmctl.reconcile.state import ApplianceState, MemberKey, appliance_state
from lmctl.status.addresses import host_port
from lmctl.status.model import MemberStatus, ServiceStatus, SettingDifference


@dataclass(frozen=True, slots=True)
class ApplianceReading:
    """One read of an appliance (``listvs`` + ``stats``), indexed once for every array on it."""

    by_key: Mapping[VirtualServiceKey, VirtualService]
    by_owner: Mapping[Owner, tuple[VirtualService, ...]]
    statistics: Statistics
    state: ApplianceState  # as plan reads it, so InSync is decided by plan's own diff

    @classmethod
    def of(
        cls, virtual_services: Iterable[VirtualService], statistics: Statistics
    ) -> ApplianceReading:
        """Index addressable VSs by key and by owner (SubVSs have no key); keep the counters."""
        by_key: dict[VirtualServiceKey, VirtualService] = {}
        by_owner: dict[Owner, list[VirtualService]] = {}
        virtual_services = tuple(virtual_services)
        for virtual_service in virtual_services:
            key = virtual_service.key
            if key is None:
                continue
            by_key[key] = virtual_service
            owner = owner_of(virtual_service.nickname)
            if owner is not None:
                by_owner.setdefault(owner, []).append(virtual_service)
        return cls(
            by_key=by_key,
            by_owner={owner: tuple(found) for owner, found in by_owner.items()},
            statistics=statistics,
            state=appliance_state(virtual_services),
        )

    def active_connections(self, vs_index: int, address: str, port: int) -> int:
        """``ActivConns`` of one real server in one VS (0 when ``stats`` does not list it)."""
        return self.statistics.active_connections(vs_index, address, port)

    def owned(self, desired: DesiredVirtualService) -> VirtualService | None:
        """The VS marked as ``desired``'s own, or None.

        Its marked VS at the desired key first; else one with the same protocol elsewhere (the
        VIP or port changed in the spec, not applied yet), as plan would move it; else any.
        """
        own = self.by_owner.get(desired.owner, ())
        at_key = [vs for vs in own if vs.key == desired.key]
        same_protocol = [vs for vs in own if vs.key and vs.key.protocol == desired.key.protocol]
        found = at_key or same_protocol or list(own)
        return found[0] if found else None

    def foreign_holder(self, desired: DesiredVirtualService) -> str | None:
        """Who holds ``desired``'s key when it is not the service's own marked VS (else None)."""
        holder = self.by_key.get(desired.key)
        if holder is None:
            return None
        owner = owner_of(holder.nickname)
        if owner == desired.owner:
            return None
        nickname = f"NickName {holder.nickname!r}" if holder.nickname else "no NickName"
        if owner is None:
            return f"{desired.key} is held by a virtual service lmctl does not own ({nickname})"
        return (
            f"{desired.key} is held by the virtual service of {owner.array}/{owner.service} "
            f"({nickname})"
        )


def setting_differences(
    desired: DesiredVirtualService, live: VirtualService
) -> tuple[SettingDifference, ...]:
    """Every managed setting whose live value differs from the spec (as plan compares them)."""
    return tuple(
        SettingDifference(
            setting=wire_name(change.field),
            desired=wire_value(change.new),
            live=wire_value(change.old),
        )
        for change in settings_changes(live.settings(), desired.settings)
    )


def real_server_differences(desired: DesiredRealServer, live: RealServer) -> tuple[str, ...]:
    """How a member's real server differs from the spec (weight, forwarding, a spec'd enable)."""
    return tuple(_difference(change) for change in member_field_changes(live, desired))


def _difference(change: FieldChange) -> str:
    """``weight 500 (spec 1000)``; an enable flag as ``disabled (spec enabled)``."""
    if change.field == "enable":
        return f"{_enabled(change.old)} (spec {_enabled(change.new)})"
    return f"{change.field} {change.old} (spec {change.new})"


def _enabled(flag: FieldValue) -> str:
    return "enabled" if flag else "disabled"


def member_status(
    desired: DesiredRealServer,
    live: RealServer | None,
    active_connections: int,
) -> MemberStatus:
    """One member in one service: present, enabled, Up, drained, connections, differences."""
    spec_disabled = desired.enable is False
    return MemberStatus(
        member=desired.member,
        address=desired.address,
        port=desired.port,
        present=live is not None,
        enabled=None if live is None else live.enable,
        up=live is not None and live.is_up,
        drained=live is not None and not live.enable and not spec_disabled,
        spec_disabled=spec_disabled,
        active_connections=0 if live is None else active_connections,
        differences=("missing",) if live is None else real_server_differences(desired, live),
    )


def _by_member(real_servers: Iterable[RealServer]) -> dict[MemberKey, RealServer]:
    # Addresses in models are normalised (lmctl.addresses): an appliance's own IPv6 spelling
    # in ``listvs`` or ``stats`` already equals the spec's.
    return {(rs.address, rs.port): rs for rs in real_servers}


def _missing_service_status(desired: DesiredVirtualService, holder: str | None) -> ServiceStatus:
    """A service whose marked VS is not on the appliance: every member missing too."""
    return ServiceStatus(
        service=desired.service,
        key=desired.key,
        exists=False,
        enabled=False,
        vs_status=None,
        has_members_by_design=bool(desired.real_servers),
        members=tuple(member_status(rs, None, 0) for rs in desired.real_servers),
        key_holder=holder,
    )


def _live_members(
    desired: DesiredVirtualService,
    live: VirtualService,
    live_servers: Mapping[MemberKey, RealServer],
    reading: ApplianceReading,
) -> tuple[MemberStatus, ...]:
    """Each member of the spec against its real server in the live VS, in spec order."""
    return tuple(
        member_status(
            rs,
            live_servers.get((rs.address, rs.port)),
            reading.active_connections(live.index, rs.address, rs.port),
        )
        for rs in desired.real_servers
    )


def _unexpected_real_servers(
    desired: DesiredVirtualService, live_servers: Mapping[MemberKey, RealServer]
) -> tuple[str, ...]:
    """``address:port`` of each live real server that is no member of the spec."""
    wanted = {(rs.address, rs.port) for rs in desired.real_servers}
    return tuple(
        host_port(live_servers[key].address, key[1]) for key in live_servers if key not in wanted
    )


def service_status(desired: DesiredVirtualService, reading: ApplianceReading) -> ServiceStatus:
    """One service of an array, from its desired VS and one read of its appliance."""
    live = reading.owned(desired)
    holder = reading.foreign_holder(desired)
    if live is None:
        return _missing_service_status(desired, holder)
    live_servers = _by_member(live.real_servers)
    return ServiceStatus(
        service=desired.service,
        key=desired.key,
        exists=True,
        enabled=live.enable,
        vs_status=live.status,
        has_members_by_design=bool(desired.real_servers),
        members=_live_members(desired, live, live_servers, reading),
        setting_differences=setting_differences(desired, live),
        unexpected_real_servers=_unexpected_real_servers(desired, live_servers),
        index=live.index,
        live_key=live.key,
        key_holder=holder,
    )
