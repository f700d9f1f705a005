"""Desired vs observed, per service: the one answer to "which virtual service is this service's?"

Plan turns matches into changes (``lmctl.plan.diff``); status turns matches plus live connection
counts into conditions (``lmctl.status``). Neither has a rule of its own, so they cannot disagree.

Only virtual services that carry lmctl's marker are lmctl's. For each desired service:
- its marked VS at the desired key is its current VS;
- no VS at the desired key but the service's marked VS at another key with the same protocol
  (the VIP or port changed): that VS is current, and plan moves it;
- the desired key held by a marked VS of an array that is leaving this appliance (a renamed
  array): that VS is current, and plan re-marks it in place (so a rename never takes the service
  down); a VS with lmctl 0.1's marker is the service's own and is re-marked the same way;
- the desired key held by an unmarked VS while the service's array adopts (``adopt: true`` in
  its spec, or ``--adopt ARRAY``): that VS is current, and plan adopts it (writes the marker);
  a VS with SubVSs is never adopted (lmctl manages real servers, not SubVSs);
- the desired key held by an unmarked VS (without adoption), by another array that stays, or by
  an array outside the plan's scope: a ``Conflict``; that VS is never touched, and the service's
  own VSs elsewhere are left as they are (one of them, if any, stays current for status);
- nothing at all: no current VS; plan creates it.
A key the appliance lists more than once (two rows with one address, port and protocol) is
nobody's, whatever NickNames its rows carry: a service that wants it gets a ``Conflict`` naming
every row's Index, a marked one nobody wants is reported the same way (``ambiguous``), and it is
never current, moved nor deleted, so no write goes to it, whatever order the rows came in.
Likewise a service whose marker is carried by several VSs of its protocol, none at its key: which
one to move cannot be told, so that is a ``Conflict`` naming each (a copy beside the VS at the
service's key is a duplicate, and deleted).
Marked VSs of arrays in scope that no service claims (the array or the service left the specs,
or a duplicate) are ``unclaimed``: plan deletes them. SubVSs have no key and are not considered.

The scope of a plan says which arrays it may compare, create, change and delete:
- spec directories only (or none given: ``arrays/``): every array on the appliances is in scope.
  A directory is the whole truth, so a marked VS whose array is not in it has left the specs;
- any spec file named (``lmctl plan arrays/hq-cas.yaml``): only the arrays loaded are in scope;
  marked VSs of every other array are neither compared nor deleted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from lmctl.appliance.changes import FieldChange
from lmctl.appliance.state import (
    ApplianceState,
    MemberKey,
    Owner,
    RealServerState,
    SubServiceClash,
    VirtualServiceState,
)
from lmctl.errors import LmctlError
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings, differing_fields
from lmctl.text import quoted_name

# None stands for "every array"; a tuple of names for a narrowed scope.
ArrayScope = tuple[str, ...] | None


def plan_scope(paths: Sequence[Path], arrays: Iterable[str]) -> ArrayScope:
    """``None`` when only directories were given, else the names of the ``arrays`` loaded."""
    if all(path.is_dir() for path in paths):
        return None
    return tuple(sorted(set(arrays)))


def in_scope(scope: ArrayScope, array: str) -> bool:
    """True when a plan with ``scope`` may touch ``array``'s virtual services."""
    return scope is None or array in scope


def scope_line(scope: ArrayScope) -> str | None:
    """The plan header line of a narrowed scope; None for every array."""
    if scope is None:
        return None
    names = ", ".join(scope) if scope else "(none)"
    return f"scope: arrays {names} (spec files given); other arrays are left alone"


class Conflict(BaseModel):
    """A key the specs want, held by a VS this plan may not take: reported, never taken over.

    The holder is an unmarked VS (``holder_array`` None), a VS of another array that stays in
    the specs, or one of an array outside the plan's scope (``holder_in_scope`` False); or the
    service's own VS, holding or sharing what lmctl does not own (``sub_service_clashes``).
    """

    model_config = ConfigDict(frozen=True)

    array: str
    service: str
    key: VirtualServiceKey
    holder_nickname: str | None
    holder_index: int | None = None
    holder_array: str | None = None
    holder_in_scope: bool = True
    # SubVSs of an unmarked holder: such a VS is never adopted.
    holder_sub_services: int = 0
    # Set when lmctl cannot tell which VS is meant: every Index involved, with ``marker_keys``
    # empty when the appliance lists more than one VS at ``key``, or the key of each when the
    # service's marker is carried by several VSs, none at ``key`` (which one would move?).
    duplicate_indexes: tuple[int, ...] = ()
    marker_keys: tuple[VirtualServiceKey, ...] = ()
    # Set when the service's own VS holds or shares what lmctl cannot own exactly (a SubVS of
    # someone else's, a SubVS marker carried twice, a content rule assigned elsewhere).
    sub_service_clashes: tuple[SubServiceClash, ...] = ()

    def ambiguity(self) -> str | None:
        """Why lmctl cannot tell which virtual service is meant (None: it can)."""
        if self.marker_keys:
            copies = ", ".join(
                f"{key} (Index {index})"
                for key, index in zip(self.marker_keys, self.duplicate_indexes, strict=False)
            )
            return (
                f"its marker is carried by {len(self.marker_keys)} virtual services, {copies}, "
                f"none at {self.key}"
            )
        if self.duplicate_indexes:
            return listed_more_than_once(self.key, self.duplicate_indexes)
        return None

    @property
    def message(self) -> str:
        """What is wrong and what to do."""
        if self.sub_service_clashes:
            return (
                f"{self.array}/{self.service}: {self.key} holds or shares what lmctl does not "
                f"own exactly: {'; '.join(clash.detail for clash in self.sub_service_clashes)}; "
                "lmctl writes nothing to it until that is cleared on the appliance"
            )
        why = self.ambiguity()
        if why is not None:
            return (
                f"{self.array}/{self.service}: {why}; lmctl cannot tell these virtual "
                "services apart and writes nothing to them: delete or move all but one on the "
                "appliance"
            )
        wants = f"{self.array}/{self.service} wants {self.key}"
        # A marked holder's NickName is its marker.
        named = quoted_name(self.holder_nickname or "")
        if self.holder_array is not None and not self.holder_in_scope:
            return (
                f"{wants}, which is held by array {self.holder_array} "
                f"(NickName {named}), outside this plan's scope (spec files "
                f"given); if {self.holder_array} was renamed, plan the whole spec directory: "
                "the VS is then re-marked in place"
            )
        if self.holder_array is not None:
            return (
                f"{wants}, which is held by array {self.holder_array} "
                f"(NickName {named}), still in the specs; give one of the two "
                "arrays another VIP or port"
            )
        holder = f"the VS named {named}" if self.holder_nickname else "an unnamed VS"
        index = f" (Index {self.holder_index})" if self.holder_index is not None else ""
        if self.holder_sub_services:
            return (
                f"{wants}, which is held by {holder}{index} with SubVSs, which lmctl does not "
                "manage and never adopts; change the spec's VIP or free the address on the "
                "appliance"
            )
        return (
            f"{wants}, which is held by {holder}{index} that lmctl does not own; to take it "
            f"over, adopt it (adopt: true in the spec, or --adopt {self.array}); else change "
            "the spec's VIP or free the address on the appliance"
        )


def listed_more_than_once(key: VirtualServiceKey, indexes: Sequence[int]) -> str:
    """``10.0.0.10:443/tcp is listed 2 times by the appliance (Index 3, 7)``."""
    shown = ", ".join(str(index) for index in indexes)
    return f"{key} is listed {len(indexes)} times by the appliance (Index {shown})"


class DrainedMember(BaseModel):
    """A member disabled on the appliance while its spec leaves ``enable`` unset: left alone."""

    model_config = ConfigDict(frozen=True)

    array: str
    service: str
    key: VirtualServiceKey
    member: str
    address: str
    port: int
    # The SubVS it is disabled in (its marker; the per-protocol layout), None for the VS.
    sub_service: str | None = None


def settings_changes(
    observed: VirtualServiceSettings, desired: VirtualServiceSettings
) -> tuple[FieldChange, ...]:
    """Every managed VS field whose value differs, old → new, in the model's field order."""
    return tuple(
        FieldChange(field=name, old=getattr(observed, name), new=getattr(desired, name))
        for name in differing_fields(observed, desired)
    )


def member_field_changes(
    observed: RealServerState, desired: DesiredRealServer
) -> tuple[FieldChange, ...]:
    """Every member field whose live value differs from the spec, old → new.

    In order: weight, forward, enable (only when the spec sets it: ``enable=None`` leaves the
    flag alone, respecting an operator's drain), port.
    """
    changes = [
        FieldChange(field=name, old=getattr(observed, name), new=getattr(desired, name))
        for name in ("weight", "forward")
        if getattr(observed, name) != getattr(desired, name)
    ]
    if desired.enable is not None and desired.enable != observed.enable:
        changes.append(FieldChange(field="enable", old=observed.enable, new=desired.enable))
    if desired.port != observed.port:
        changes.append(FieldChange(field="port", old=observed.port, new=desired.port))
    return tuple(changes)


@dataclass(frozen=True, slots=True)
class MemberMatch:
    """A member of the spec and its real server, either of which may be missing.

    ``desired`` None: a real server that is no member (plan removes it). ``current`` None: a
    member without a real server (plan adds it). A member whose port alone changed is paired
    with its real server at the old port (plan changes the port in place). ``known_name``: the
    name the specs give a real server that is no member here (another service or array on the
    appliance lists its address), None when none does.
    """

    desired: DesiredRealServer | None
    current: RealServerState | None
    known_name: str | None = None

    @property
    def name(self) -> str | None:
        """The member's name: the spec's, else the one the specs know its address by."""
        return self.desired.member if self.desired is not None else self.known_name

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        """The member's field differences (none unless both sides exist)."""
        if self.desired is None or self.current is None:
            return ()
        return member_field_changes(self.current, self.desired)

    @property
    def drained(self) -> bool:
        """Disabled on the appliance while the spec leaves ``enable`` unset: an operator's drain."""
        return (
            self.desired is not None
            and self.current is not None
            and not self.current.enable
            and self.desired.enable is None
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


def match_members(
    desired: Sequence[DesiredRealServer],
    current: Sequence[RealServerState],
    names: Mapping[str, str] | None = None,
) -> tuple[MemberMatch, ...]:
    """The spec's members in spec order, each with its real server; then the extra ones, named
    by ``names`` (address → member name) when it knows them."""
    present = {rs.member_key: rs for rs in current}
    wanted = {(rs.address, rs.port): rs for rs in desired}
    missing = {k: rs for k, rs in wanted.items() if k not in present}
    extra = {k: rs for k, rs in present.items() if k not in wanted}
    moves = _port_moves(missing, extra)
    matches = [
        MemberMatch(rs, present.get(k) or extra.get(moves.get(k, k))) for k, rs in wanted.items()
    ]
    moved_from = set(moves.values())
    known = names or {}
    matches += [
        MemberMatch(None, rs, known.get(rs.address))
        for k, rs in extra.items()
        if k not in moved_from
    ]
    return tuple(matches)


@dataclass(frozen=True, slots=True)
class ServiceMatch:
    """One desired service and what the appliance holds for it."""

    desired: DesiredVirtualService
    current: VirtualServiceState | None
    conflict: Conflict | None = None
    # Address → member name, as the specs name the servers on this appliance (``member_names``).
    names: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def adopts(self) -> bool:
        """True when the current VS is unmarked: the service's array adopts it."""
        return self.current is not None and self.current.owner is None

    @property
    def moved(self) -> bool:
        """True when the current VS is at another key than the spec wants."""
        return self.current is not None and self.current.key != self.desired.key

    @property
    def setting_changes(self) -> tuple[FieldChange, ...]:
        """Every managed setting whose current value differs from the spec."""
        if self.current is None:
            return ()
        return settings_changes(self.current.settings, self.desired.settings)

    @property
    def members(self) -> tuple[MemberMatch, ...]:
        """The spec's members and the current VS's real servers, matched."""
        current = self.current.real_servers if self.current is not None else ()
        return match_members(self.desired.real_servers, current, self.names)


@dataclass(frozen=True, slots=True)
class ApplianceMatch:
    """Every desired service of one appliance matched, and the marked VSs nothing claims."""

    services: tuple[ServiceMatch, ...]
    unclaimed: tuple[tuple[Owner, VirtualServiceState], ...]
    # Marked VSs in scope that no service wants and that plan may not delete, reported: keys
    # listed more than once, and VSs that hold or share what lmctl does not own exactly.
    unclaimed_conflicts: tuple[Conflict, ...] = ()

    def of_array(self, array: str) -> tuple[ServiceMatch, ...]:
        """The matches of one array's services, in spec order."""
        return tuple(m for m in self.services if m.desired.array == array)

    def unclaimed_of(self, array: str) -> tuple[tuple[Owner, VirtualServiceState], ...]:
        """The unclaimed marked VSs of one array (plan deletes them)."""
        return tuple((owner, vs) for owner, vs in self.unclaimed if owner.array == array)


def _marked_by_owner(
    state: ApplianceState, scope: ArrayScope
) -> dict[Owner, list[VirtualServiceState]]:
    marked: dict[Owner, list[VirtualServiceState]] = {}
    for key in sorted(state, key=str):
        owner = state[key].owner
        # A key listed more than once is nobody's: it is reported, never moved nor deleted.
        if owner is not None and in_scope(scope, owner.array) and not state[key].is_ambiguous:
            marked.setdefault(owner, []).append(state[key])
    return marked


def _listed_more_than_once(array: str, service: str, holder: VirtualServiceState) -> Conflict:
    return Conflict(
        array=array,
        service=service,
        key=holder.key,
        holder_nickname=holder.settings.nickname,
        holder_index=holder.index,
        holder_array=holder.owner.array if holder.owner is not None else None,
        duplicate_indexes=holder.duplicate_indexes,
    )


def _marker_carried_twice(
    want: DesiredVirtualService, carriers: Sequence[VirtualServiceState]
) -> Conflict:
    return Conflict(
        array=want.array,
        service=want.service,
        key=want.key,
        holder_nickname=want.owner.marker(),
        holder_array=want.array,
        duplicate_indexes=tuple(vs.index for vs in carriers if vs.index is not None),
        marker_keys=tuple(vs.key for vs in carriers),
    )


def _ambiguous_marked(
    state: ApplianceState, scope: ArrayScope, reported: set[VirtualServiceKey]
) -> tuple[Conflict, ...]:
    """A conflict for each key listed more than once whose (lowest-Index) row carries the
    marker of an array in scope, unless a service's conflict already names the key."""
    return tuple(
        _listed_more_than_once(owner.array, owner.service, holder)
        for key, holder in sorted(state.items(), key=lambda item: str(item[0]))
        if holder.is_ambiguous
        and key not in reported
        and (owner := holder.owner) is not None
        and in_scope(scope, owner.array)
    )


def _clashing(array: str, service: str, vs: VirtualServiceState) -> Conflict | None:
    """A conflict when ``vs`` (the service's own) holds or shares what lmctl does not own."""
    clashes = vs.clashes()
    if not clashes:
        return None
    return Conflict(
        array=array,
        service=service,
        key=vs.key,
        holder_nickname=vs.settings.nickname,
        holder_index=vs.index,
        holder_array=array,
        sub_service_clashes=clashes,
    )


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
        holder_sub_services=holder.sub_services if holder_array is None else 0,
    )


def _blocked(
    want: DesiredVirtualService,
    holder: VirtualServiceState | None,
    leaving: set[str],
    scope: ArrayScope,
    adopting: Collection[str],
) -> bool:
    """True when the wanted key is held by a VS this service may not take: anything but its
    own marked VS, a marked VS of an in-scope array that leaves this appliance (a rename), or
    an unmarked VS without SubVSs that its array adopts."""
    if holder is None or holder.owner == want.owner:
        return False
    owner = holder.owner
    if owner is None:
        return want.array not in adopting or holder.sub_services > 0
    return not (owner.array in leaving and in_scope(scope, owner.array))


def member_names(desired: Iterable[DesiredVirtualService], array: str) -> dict[str, str]:
    """Address → member name over ``desired``: ``array``'s own names win, then the first other
    array's (a real server the specs no longer list under ``array`` may still be listed by
    another)."""
    names: dict[str, str] = {}
    for want in sorted(desired, key=lambda w: w.array != array):
        for rs in want.member_servers:
            names.setdefault(rs.address, rs.member)
    return names


class LayoutSwitchError(LmctlError):
    """A service's VS holds real servers where its spec wants SubVSs, or the reverse."""


def switches_layout(found: ServiceMatch) -> bool:
    """True when the service's VS is published in the other layout than its spec's: it holds
    real servers where the spec wants SubVSs, or lmctl's SubVSs where it wants real servers."""
    want, current = found.desired, found.current
    if found.conflict is not None or current is None:
        return False
    return bool(want.sub_services and current.real_servers) or bool(
        current.sub_vs and not want.sub_services
    )


def refuse_layout_switch(services: Iterable[ServiceMatch]) -> None:
    """A VS holds either real servers or SubVSs: switching one VS in place would leave the VIP
    serving nothing in between. Refused, before anything is written (docs/layouts.md)."""
    for found in services:
        want, current = found.desired, found.current
        if current is not None and switches_layout(found):
            held, wanted = (
                ("real servers", "SubVSs (layout: per-protocol)")
                if want.sub_services
                else ("lmctl's SubVSs", "real servers (layout: single-service)")
            )
            raise LayoutSwitchError(
                f"{want.array}/{want.service}: {current.key} holds {held} and the spec wants "
                f"{wanted} there; a VS holds one or the other, so switching it in place would "
                "leave the VIP serving nothing in between: publish the new layout on another "
                'VIP and move DNS to it (docs/layouts.md, "Moving an array to '
                'per-protocol"); nothing was written'
            )


def match_appliance(
    desired: Sequence[DesiredVirtualService],
    state: ApplianceState,
    scope: ArrayScope = None,
    adopting: Collection[str] = (),
) -> ApplianceMatch:
    """Match every desired service of one appliance with its state (see the module's rules);
    ``adopting`` names the arrays that take over unmarked VSs on their keys."""
    marked = _marked_by_owner(state, scope)
    leaving = {owner.array for owner in marked} - {want.array for want in desired}
    claimed: set[VirtualServiceKey] = set()
    services: list[ServiceMatch] = []
    names = {array: member_names(desired, array) for array in {want.array for want in desired}}
    for want in desired:
        own = marked.get(want.owner, [])
        same_protocol = next((vs for vs in own if vs.key.protocol == want.key.protocol), None)
        holder = state.get(want.key)
        if holder is not None and holder.is_ambiguous:
            claimed.update(vs.key for vs in own)
            conflict = _listed_more_than_once(want.array, want.service, holder)
            services.append(ServiceMatch(want, same_protocol, conflict, names[want.array]))
            continue
        movable = [vs for vs in own if vs.key.protocol == want.key.protocol]
        if holder is None and len(movable) > 1:
            claimed.update(vs.key for vs in own)
            conflict = _marker_carried_twice(want, movable)
            services.append(ServiceMatch(want, None, conflict, names[want.array]))
            continue
        if _blocked(want, holder, leaving, scope, adopting):
            assert holder is not None
            claimed.update(vs.key for vs in own)
            conflict = _conflict(want, holder, scope)
            services.append(ServiceMatch(want, same_protocol, conflict, names[want.array]))
            continue
        current = holder or same_protocol
        clash = None
        if current is not None:
            claimed.add(current.key)
            clash = _clashing(want.array, want.service, current)
        services.append(ServiceMatch(want, current, clash, names=names[want.array]))
    unclaimed: list[tuple[Owner, VirtualServiceState]] = []
    clashing: list[Conflict] = []
    for owner, own in marked.items():
        for vs in own:
            if vs.key in claimed:
                continue
            # Deleting it would take what is not lmctl's with it (a SubVS, a shared rule).
            if (clash := _clashing(owner.array, owner.service, vs)) is not None:
                clashing.append(clash)
            else:
                unclaimed.append((owner, vs))
    reported = {s.conflict.key for s in services if s.conflict is not None}
    return ApplianceMatch(
        services=tuple(services),
        unclaimed=tuple(unclaimed),
        unclaimed_conflicts=(*_ambiguous_marked(state, scope, reported), *clashing),
    )
