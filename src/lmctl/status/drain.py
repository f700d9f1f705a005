"""Pure decisions of ``lmctl drain`` / ``lmctl undrain``: which member, which writes, is it safe.

A member (a CAS) belongs to one array only. Draining it touches that array's virtual services
only, one real server at a time (``modrs enable=N``): the global ``disablers`` would also take
the server out of every other array and VS that happens to use the same address. The writes go
to the array's own virtual services only (found by their ownership marker, see
:mod:`lmctl.status.observe`), at the key where each one is, never to a VS lmctl does not own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lmctl.errors import LmctlError
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.status.addresses import typed_address
from lmctl.status.model import ArrayStatus, MemberStatus, ServiceStatus


class UnknownMemberError(LmctlError, LookupError):
    """No array of the specs has a member with that name or address."""


@dataclass(frozen=True, slots=True)
class MemberRef:
    """One member located in the specs: its array, the appliance of that array, its address."""

    appliance: str
    array: str
    member: str
    address: str


@dataclass(frozen=True, slots=True)
class RealServerSwitch:
    """One write: enable or disable a member's real server in one virtual service."""

    service: str
    key: VirtualServiceKey
    address: str
    port: int
    enable: bool

    def describe(self) -> str:
        """``disable 10.0.0.21:443 in https (10.0.0.10:443/tcp)``."""
        verb = "enable" if self.enable else "disable"
        return f"{verb} {self.address}:{self.port} in {self.service} ({self.key})"


def locate_member(desired: Iterable[DesiredVirtualService], name: str) -> MemberRef:
    """The member called ``name`` (case-insensitive, as Windows names are) or with that address
    (compared as an address: ``2001:DB8:0::11`` is ``2001:db8::11``)."""
    wanted = name.strip().lower()
    address = typed_address(name)
    known: set[str] = set()
    for service in desired:
        for real_server in service.real_servers:
            known.add(f"{real_server.member} ({service.array})")
            # Model addresses are normalised already (lmctl.loadmaster.models).
            if wanted == real_server.member.lower() or address == real_server.address:
                return MemberRef(
                    appliance=service.appliance,
                    array=service.array,
                    member=real_server.member,
                    address=real_server.address,
                )
    listing = ", ".join(sorted(known)) or "none"
    raise UnknownMemberError(
        f"no array in the specs has a member named {name!r} (or with that address); "
        f"members: {listing}"
    )


def spec_enable(desired: Iterable[DesiredVirtualService], member: MemberRef) -> bool | None:
    """What the spec says of the member's enable flag: True, False, or None (not set)."""
    for service in desired:
        if service.array != member.array:
            continue
        for real_server in service.real_servers:
            if real_server.member == member.member:
                return real_server.enable
    return None


def member_rows(array: ArrayStatus, member: str) -> list[tuple[ServiceStatus, MemberStatus]]:
    """Every service of the array that has this member, with the member's row in it."""
    rows: list[tuple[ServiceStatus, MemberStatus]] = []
    for service in array.services:
        for row in service.members:
            if row.member == member:
                rows.append((service, row))
    return rows


def switches(array: ArrayStatus, member: str, *, enable: bool) -> tuple[RealServerSwitch, ...]:
    """The ``modrs`` writes still needed: real servers present and not yet in the wanted state.

    Each goes to the service's own marked VS where it is (``live_key``), even when the spec has
    moved its VIP since: a member is only ever present in a VS the array owns.
    """
    return tuple(
        RealServerSwitch(service.service, service.observed_key, row.address, row.port, enable)
        for service, row in member_rows(array, member)
        if service.exists and row.present and row.enabled != enable
    )


def unreachable_services(array: ArrayStatus, member: str) -> tuple[str, ...]:
    """Services where the member cannot be switched: the VS or the member's RS is missing."""
    return tuple(
        service.service
        for service, row in member_rows(array, member)
        if not (service.exists and row.present)
    )


def why_unreachable(service: ServiceStatus) -> str:
    """Why a member cannot be switched in ``service`` (see :func:`unreachable_services`)."""
    if not service.exists and service.key_holder is not None:
        return f"{service.key_holder}, never changed by lmctl"
    return "virtual service or real server missing; run `lmctl apply`"


def drain_blockers(array: ArrayStatus, member: str) -> tuple[str, ...]:
    """Why draining ``member`` now would cut a service off (empty when it is safe).

    Only services where the member still takes connections count: re-running an interrupted
    drain must not be refused for services it already drained.
    """
    pending = {switch.service for switch in switches(array, member, enable=False)}
    blockers: list[str] = []
    for service, _row in member_rows(array, member):
        if service.service not in pending:
            continue
        others = [other for other in service.members if other.member != member]
        if not any(other.serving for other in others):
            states = ", ".join(f"{other.member} {other.state}" for other in others)
            blockers.append(
                f"{service.service}: no other member is enabled and Up "
                f"({states or 'it is the only member'})"
            )
    return tuple(blockers)


def failover_losses(array: ArrayStatus, member: str) -> tuple[str, ...]:
    """Services that draining ``member`` now leaves with exactly one member enabled and Up.

    Not a reason to refuse (a drain is refused only when no member would be left), but the
    array is no longer FailoverReady, so the operator must hear it. Only services where the
    member is still enabled count, as in :func:`drain_blockers`.
    """
    pending = {switch.service for switch in switches(array, member, enable=False)}
    losses: list[str] = []
    for service, _row in member_rows(array, member):
        if service.service not in pending:
            continue
        serving = [row.member for row in service.serving_members if row.member != member]
        if len(serving) == 1:
            losses.append(
                f"after this drain, {service.service} has one serving member ({serving[0]}): "
                "the array is no longer FailoverReady"
            )
    return tuple(losses)


def active_connections(array: ArrayStatus, member: str) -> int:
    """The member's active connections, summed over the services of its array."""
    return sum(row.active_connections for _service, row in member_rows(array, member))


def services_not_up(array: ArrayStatus, member: str) -> tuple[str, ...]:
    """Services in which the member is not yet enabled and Up (what undrain waits for).

    Services where it cannot be switched (see :func:`unreachable_services`) are left out.
    """
    return tuple(
        service.service
        for service, row in member_rows(array, member)
        if service.exists and row.present and not row.serving
    )
