"""Desired vs observed, for one appliance: the pure decision of what must change.

Only virtual services that carry lmctl's marker are lmctl's. For each desired service:
- its marked VS at the desired key is compared field by field over the managed settings, and its
  real servers as members keyed by (address, port);
- no VS at the desired key but the service's marked VS at another key (the VIP or port moved,
  same protocol): the VS is moved with one ``modvs vsaddress=/vsport=``, which keeps its members
  and any operator's drain; a protocol change is a create plus a delete;
- the desired key held by a marked VS of an array that is leaving this appliance (a renamed
  array): that VS is taken over in place, one ``modvs`` re-marks it (NickName plus any field
  change) and keeps its members, so a rename never takes the service down;
- the desired key held by an unmarked VS, by another array that stays, or by an array outside
  the plan's scope: a ``Conflict``; that VS is never touched and the service's own VSs elsewhere
  are left as they are;
- nothing at all: the VS is created, then each member added.
Marked VSs that no desired service claims (the array or service left the specs, or a duplicate)
are deleted, but only those of arrays in the plan's scope (``scope``). SubVS entries have no key
and are not considered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import MANAGED_VS_FIELDS, VirtualServiceKey, VirtualServiceSettings
from lmctl.ownership import Owner
from lmctl.reconcile.changes import (
    AddRealServer,
    Change,
    Conflict,
    CreateVirtualService,
    DeleteVirtualService,
    DrainedMember,
    FieldChange,
    RemoveRealServer,
    UpdateRealServer,
    UpdateVirtualService,
)
from lmctl.reconcile.members import member_field_changes
from lmctl.reconcile.order import in_write_order
from lmctl.reconcile.scope import ArrayScope, in_scope
from lmctl.reconcile.state import ApplianceState, MemberKey, RealServerState, VirtualServiceState


@dataclass(frozen=True, slots=True)
class ApplianceDiff:
    """What one appliance needs: changes in write order, conflicts, drained members."""

    changes: tuple[Change, ...]
    conflicts: tuple[Conflict, ...]
    drained: tuple[DrainedMember, ...]


def settings_changes(
    observed: VirtualServiceSettings, desired: VirtualServiceSettings
) -> tuple[FieldChange, ...]:
    """Every managed VS field whose value differs, old → new, in the model's field order."""
    return tuple(
        FieldChange(field=name, old=getattr(observed, name), new=getattr(desired, name))
        for name in MANAGED_VS_FIELDS
        if getattr(observed, name) != getattr(desired, name)
    )


def _port_moves(
    missing: dict[MemberKey, DesiredRealServer], extra: dict[MemberKey, RealServerState]
) -> dict[MemberKey, MemberKey]:
    """Pairs (desired key → observed key) of one member whose port alone changed."""
    moves: dict[MemberKey, MemberKey] = {}
    for address in {key[0] for key in missing}:
        wanted = [key for key in missing if key[0] == address]
        present = [key for key in extra if key[0] == address]
        if len(wanted) == 1 and len(present) == 1:
            moves[wanted[0]] = present[0]
    return moves


def member_changes(
    desired: DesiredVirtualService, observed: VirtualServiceState, key: VirtualServiceKey
) -> tuple[list[Change], list[DrainedMember]]:
    """Real-server changes of one VS (``key`` = where it will be when they run)."""
    scope = {"array": desired.array, "service": desired.service, "key": key}
    wanted = {(rs.address, rs.port): rs for rs in desired.real_servers}
    present = {rs.member_key: rs for rs in observed.real_servers}
    missing = {k: rs for k, rs in wanted.items() if k not in present}
    extra = {k: rs for k, rs in present.items() if k not in wanted}
    port_moves = _port_moves(missing, extra)
    changes: list[Change] = []
    drained: list[DrainedMember] = []
    pairs = [(rs, present[k]) for k, rs in wanted.items() if k in present]
    pairs += [(missing[new], extra[old]) for new, old in port_moves.items()]
    for want, have in pairs:
        fields = member_field_changes(have, want)
        if fields:
            changes.append(
                UpdateRealServer(
                    **scope,
                    member=want.member,
                    address=have.address,
                    port=have.port,
                    fields=fields,
                )
            )
        if not have.enable and want.enable is None:
            drained.append(
                DrainedMember(**scope, member=want.member, address=have.address, port=want.port)
            )
    moved_from = set(port_moves.values())
    for k, rs in missing.items():
        if k not in port_moves:
            changes.append(_add_member(desired, key, rs))
    for k in extra:
        if k not in moved_from:
            changes.append(RemoveRealServer(**scope, address=k[0], port=k[1]))
    return changes, drained


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
    )


def _create(desired: DesiredVirtualService) -> list[Change]:
    changes: list[Change] = [
        CreateVirtualService(
            array=desired.array,
            service=desired.service,
            key=desired.key,
            settings=desired.settings,
        )
    ]
    changes += [_add_member(desired, desired.key, rs) for rs in desired.real_servers]
    return changes


def _update(
    desired: DesiredVirtualService, current: VirtualServiceState
) -> tuple[list[Change], list[DrainedMember]]:
    moved = current.key != desired.key
    fields = settings_changes(current.settings, desired.settings)
    changes: list[Change] = []
    if fields or moved:
        changes.append(
            UpdateVirtualService(
                array=desired.array,
                service=desired.service,
                key=current.key,
                fields=fields,
                new_key=desired.key if moved else None,
            )
        )
    members, drained = member_changes(desired, current, desired.key)
    return changes + members, drained


def _delete(vs: VirtualServiceState, owner: Owner) -> DeleteVirtualService:
    return DeleteVirtualService(
        array=owner.array,
        service=owner.service,
        key=vs.key,
        nickname=vs.settings.nickname,
        real_servers=len(vs.real_servers),
    )


def _marked_by_owner(
    state: ApplianceState, scope: ArrayScope
) -> dict[Owner, list[VirtualServiceState]]:
    marked: dict[Owner, list[VirtualServiceState]] = {}
    for key in sorted(state, key=str):
        owner = state[key].owner
        if owner is not None and in_scope(scope, owner.array):
            marked.setdefault(owner, []).append(state[key])
    return marked


def _conflict(
    want: DesiredVirtualService, holder: VirtualServiceState, scope: ArrayScope
) -> Conflict:
    holder_array = holder.owner.array if holder.owner is not None else None
    return Conflict(
        array=want.array,
        service=want.service,
        key=want.key,
        holder_nickname=holder.settings.nickname,
        holder_index=holder.index,
        holder_array=holder_array,
        holder_in_scope=holder_array is None or in_scope(scope, holder_array),
    )


def _adoptable(holder: VirtualServiceState, leaving: set[str], scope: ArrayScope) -> bool:
    """True for a marked VS of an in-scope array that leaves this appliance (a rename)."""
    owner = holder.owner
    return owner is not None and owner.array in leaving and in_scope(scope, owner.array)


def _blocked(
    want: DesiredVirtualService,
    holder: VirtualServiceState | None,
    leaving: set[str],
    scope: ArrayScope,
) -> bool:
    """True when the wanted key is held by a VS this service may not take."""
    if holder is None or holder.owner == want.owner:
        return False
    return not _adoptable(holder, leaving, scope)


def diff(
    desired: Sequence[DesiredVirtualService], state: ApplianceState, scope: ArrayScope = None
) -> ApplianceDiff:
    """The changes that make ``state`` hold ``desired`` (one appliance), in write order.

    Only marked VSs of arrays in ``scope`` (None: every array) are compared or deleted.
    """
    marked = _marked_by_owner(state, scope)
    leaving = {owner.array for owner in marked} - {want.array for want in desired}
    claimed: set[VirtualServiceKey] = set()
    changes: list[Change] = []
    conflicts: list[Conflict] = []
    drained: list[DrainedMember] = []
    for want in sorted(desired, key=lambda d: (d.array, d.service)):
        own = marked.get(want.owner, [])
        holder = state.get(want.key)
        if _blocked(want, holder, leaving, scope):
            assert holder is not None
            conflicts.append(_conflict(want, holder, scope))
            claimed.update(vs.key for vs in own)
            continue
        current = holder or next((vs for vs in own if vs.key.protocol == want.key.protocol), None)
        if current is None:
            changes += _create(want)
            continue
        claimed.add(current.key)
        updates, drains = _update(want, current)
        changes += updates
        drained += drains
    for owner, own in marked.items():
        changes += [_delete(vs, owner) for vs in own if vs.key not in claimed]
    return ApplianceDiff(
        changes=in_write_order(changes), conflicts=tuple(conflicts), drained=tuple(drained)
    )


def touched_keys(changes: Iterable[Change]) -> set[VirtualServiceKey]:
    """Every VS key a change reads or writes (both ends of a move)."""
    keys: set[VirtualServiceKey] = set()
    for change in changes:
        keys.add(change.key)
        if isinstance(change, UpdateVirtualService) and change.new_key is not None:
            keys.add(change.new_key)
    return keys
