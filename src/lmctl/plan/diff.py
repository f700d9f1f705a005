"""Matches → changes: the pure decision of what must be written, in make-before-break order.

A matched service is adopted (its array takes over an unmarked VS: one ``modvs`` writing the
marker and the settings that differ) or updated (settings, a move, a re-mark: one ``modvs``),
and its members added,
changed or removed; an unmatched one is created with its members; a conflicting one is left as
it is; unclaimed marked VSs are deleted last (see ``lmctl.plan.match`` for which is which).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lmctl.appliance.changes import (
    AddRealServer,
    AdoptVirtualService,
    Change,
    CreateVirtualService,
    DeleteVirtualService,
    RemoveRealServer,
    SpecOrder,
    UpdateRealServer,
    UpdateVirtualService,
    sort_key,
)
from lmctl.appliance.state import Owner, VirtualServiceState
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.plan.match import ApplianceMatch, Conflict, DrainedMember, ServiceMatch


@dataclass(frozen=True, slots=True)
class ApplianceDiff:
    """What one appliance needs: changes in write order, conflicts, drained members, and the
    services its specs want there in the specs' order (``(array, service)``)."""

    changes: tuple[Change, ...]
    conflicts: tuple[Conflict, ...]
    drained: tuple[DrainedMember, ...]
    order: tuple[tuple[str, str], ...] = ()


def in_write_order(changes: Iterable[Change], order: SpecOrder | None = None) -> tuple[Change, ...]:
    """The changes sorted into make-before-break order (``lmctl.appliance.changes.Phase``), arrays
    and services in the specs' ``order``."""
    return tuple(sorted(changes, key=lambda change: sort_key(change, order)))


def _add_member(
    desired: DesiredVirtualService, key: VirtualServiceKey, rs: DesiredRealServer
) -> AddRealServer:
    return AddRealServer(
        array=desired.array,
        service=desired.service,
        key=key,
        member=rs.member,
        address=rs.address,
        port=rs.port,
        weight=rs.weight,
        forward=rs.forward,
        enable=True if rs.enable is None else rs.enable,
        non_local=rs.non_local,
    )


def _member_changes(match: ServiceMatch) -> tuple[list[Change], list[DrainedMember]]:
    """Real-server changes of one matched VS, keyed where it will be when they run."""
    want = match.desired
    scope = {"array": want.array, "service": want.service, "key": want.key}
    changes: list[Change] = []
    drained: list[DrainedMember] = []
    for member in match.members:
        if member.current is None:
            assert member.desired is not None
            changes.append(_add_member(want, want.key, member.desired))
        elif member.desired is None:
            current = member.current
            changes.append(
                RemoveRealServer(
                    **scope, member=member.name, address=current.address, port=current.port
                )
            )
        else:
            fields = member.changes
            if fields:
                changes.append(
                    UpdateRealServer(
                        **scope,
                        member=member.desired.member,
                        address=member.current.address,
                        port=member.current.port,
                        fields=fields,
                    )
                )
            if member.drained:
                drained.append(
                    DrainedMember(
                        **scope,
                        member=member.desired.member,
                        address=member.current.address,
                        port=member.desired.port,
                    )
                )
    return changes, drained


def service_changes(match: ServiceMatch) -> tuple[list[Change], list[DrainedMember]]:
    """The writes that make one service as its spec says (none for a conflict), and the
    members an operator drained (left alone)."""
    want, current = match.desired, match.current
    if match.conflict is not None:
        return [], []
    if current is None:
        created = CreateVirtualService(
            array=want.array, service=want.service, key=want.key, settings=want.settings
        )
        return [created, *(_add_member(want, want.key, rs) for rs in want.real_servers)], []
    changes: list[Change] = []
    fields = match.setting_changes
    modvs = {"array": want.array, "service": want.service, "key": current.key, "fields": fields}
    if match.adopts:
        changes.append(AdoptVirtualService(**modvs, left_alone=current.unmanaged))
    elif fields or match.moved:
        new_key = want.key if match.moved else None
        changes.append(UpdateVirtualService(**modvs, new_key=new_key))
    members, drained = _member_changes(match)
    return changes + members, drained


def deletion(owner: Owner, vs: VirtualServiceState) -> DeleteVirtualService:
    """The ``delvs`` of a marked VS nothing claims."""
    return DeleteVirtualService(
        array=owner.array,
        service=owner.service,
        key=vs.key,
        nickname=vs.settings.nickname,
        real_servers=len(vs.real_servers),
        destroys=vs.unmanaged,
    )


def diff(match: ApplianceMatch) -> ApplianceDiff:
    """The changes that make one appliance hold its desired services, in write order."""
    changes: list[Change] = []
    drained: list[DrainedMember] = []
    # Services in the specs' order (the matcher keeps it), so drained members are too.
    for service in match.services:
        found, drains = service_changes(service)
        changes += found
        drained += drains
    changes += [deletion(owner, vs) for owner, vs in match.unclaimed]
    conflicts = [s.conflict for s in match.services if s.conflict is not None]
    conflicts += match.ambiguous
    services = tuple((s.desired.array, s.desired.service) for s in match.services)
    order = SpecOrder(services)
    return ApplianceDiff(
        changes=in_write_order(changes, order),
        conflicts=tuple(
            sorted(conflicts, key=lambda c: (order.service(c.array, c.service), str(c.key)))
        ),
        drained=tuple(drained),
        order=services,
    )


def touched_keys(changes: Iterable[Change]) -> set[VirtualServiceKey]:
    """Every VS key a change reads or writes (both ends of a move)."""
    keys: set[VirtualServiceKey] = set()
    for change in changes:
        keys.add(change.key)
        keys.add(change.final_key)
    return keys
