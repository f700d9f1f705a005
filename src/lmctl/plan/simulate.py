"""Run changes against an in-memory appliance state, without any appliance.

The simulator predicts the state a plan leaves (what apply verifies afterwards and what a saved
plan already applied looks like), feeds the safety rules, and checks make-before-break: after
every single write, each service that serves before and after the plan still has at least one
enabled member.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, assert_never

from lmctl.appliance.changes import (
    AddRealServer,
    AdoptVirtualService,
    AssignContentRule,
    Change,
    CreateContentRule,
    CreateSubService,
    CreateVirtualService,
    DeleteContentRule,
    DeleteSubService,
    DeleteVirtualService,
    FieldChange,
    RemoveRealServer,
    SubServiceChange,
    SubServiceKind,
    UnassignContentRule,
    UpdateContentRule,
    UpdateRealServer,
    UpdateSubService,
    UpdateVirtualService,
)
from lmctl.appliance.state import (
    ApplianceState,
    ContentRuleState,
    RealServerState,
    SubServiceState,
    VirtualServiceState,
)
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings


class SimulationError(ValueError):
    """A change that cannot run on the state it meets (a bug in the plan, never expected)."""


def _existing(state: ApplianceState, change: Change) -> VirtualServiceState:
    vs = state.get(change.key)
    if vs is None:
        raise SimulationError(f"{change.action} on {change.key}: no such virtual service")
    return vs


# What holds real servers: a VS, or one SubVS of it.
Holder = VirtualServiceState | SubServiceState


def _holder(
    state: ApplianceState, change: AddRealServer | UpdateRealServer | RemoveRealServer
) -> Holder:
    vs = _existing(state, change)
    if change.sub_service is None:
        return vs
    return _sub_service(vs, change.sub_service, change.action)


def _sub_service(vs: VirtualServiceState, marker: str, action: str) -> SubServiceState:
    found = vs.sub_service(marker)
    if found is None:
        raise SimulationError(f"{action} on {vs.key}: no SubVS {marker}")
    return found


def _member(
    state: ApplianceState, change: UpdateRealServer | RemoveRealServer
) -> tuple[Holder, RealServerState]:
    holder = _holder(state, change)
    found = holder.member(change.member_key)
    if found is None:
        raise SimulationError(
            f"{change.action} {change.address}:{change.port}: not in {change.where}"
        )
    return holder, found


def _with_members(
    state: ApplianceState,
    change: AddRealServer | UpdateRealServer | RemoveRealServer,
    holder: Holder,
    members: Iterable[RealServerState],
) -> None:
    """``holder`` (the change's VS or SubVS) with ``members``, written back into ``state``."""
    if isinstance(holder, VirtualServiceState):
        state[holder.key] = replace(holder, real_servers=tuple(members))
    else:
        _with_sub_service(state, change.key, replace(holder, real_servers=tuple(members)))


def _with_sub_service(
    state: ApplianceState, key: VirtualServiceKey, sub: SubServiceState | None, marker: str = ""
) -> None:
    """The VS at ``key`` with ``sub`` in place of its SubVS of the same marker (added when it
    has none; with ``sub`` None, the SubVS ``marker`` removed)."""
    vs = state[key]
    gone = sub.marker if sub is not None else marker
    kept = tuple(s for s in vs.sub_vs if s.marker != gone)
    state[key] = replace(vs, sub_vs=kept if sub is None else (*kept, sub))


def _with_rules(
    state: ApplianceState, key: VirtualServiceKey, rules: Iterable[ContentRuleState]
) -> None:
    state[key] = replace(state[key], content_rules=tuple(rules))


def _sub_service_change(state: ApplianceState, change: SubServiceKind) -> None:
    vs = _existing(state, change)
    marker = change.sub_service
    match change:
        case CreateSubService():
            if vs.sub_service(marker) is not None:
                raise SimulationError(f"create SubVS {marker}: already in {vs.key}")
            _with_sub_service(state, vs.key, SubServiceState(settings=change.settings))
        case UpdateSubService():
            sub = _sub_service(vs, marker, change.action)
            settings = _changed(sub.settings, change.fields, f"SubVS {change.sub_service}")
            _with_sub_service(state, vs.key, replace(sub, settings=settings))
        case DeleteSubService():
            _sub_service(vs, marker, change.action)
            _with_sub_service(state, vs.key, None, marker)
        case CreateContentRule():
            if vs.content_rule(change.rule) is not None:
                raise SimulationError(f"create rule {change.rule}: already there")
            rule = ContentRuleState(change.rule, change.pattern, change.match_type, change.nocase)
            _with_rules(state, vs.key, (*vs.content_rules, rule))
        case UpdateContentRule():
            if vs.content_rule(change.rule) is None:
                raise SimulationError(f"update rule {change.rule}: no such rule")
            rule = ContentRuleState(change.rule, change.pattern, change.match_type, change.nocase)
            others = (r for r in vs.content_rules if r.name != change.rule)
            _with_rules(state, vs.key, (*others, rule))
        case DeleteContentRule():
            if vs.content_rule(change.rule) is None:
                raise SimulationError(f"delete rule {change.rule}: no such rule")
            # The appliance takes a deleted rule off every row it was on.
            subs = tuple(
                replace(s, rules=tuple(r for r in s.rules if r != change.rule)) for s in vs.sub_vs
            )
            state[vs.key] = replace(vs, sub_vs=subs)
            _with_rules(state, vs.key, (r for r in vs.content_rules if r.name != change.rule))
        case AssignContentRule():
            sub = _sub_service(vs, marker, change.action)
            if vs.content_rule(change.rule) is None or change.rule in sub.rules:
                raise SimulationError(f"assign rule {change.rule} to {marker}: cannot")
            _with_sub_service(state, vs.key, replace(sub, rules=(*sub.rules, change.rule)))
        case UnassignContentRule():
            sub = _sub_service(vs, marker, change.action)
            if change.rule not in sub.rules:
                raise SimulationError(f"unassign rule {change.rule} from {marker}: not on it")
            rules = tuple(r for r in sub.rules if r != change.rule)
            _with_sub_service(state, vs.key, replace(sub, rules=rules))
        case _:
            assert_never(change)


def _updated(vs: VirtualServiceState, fields: Iterable[FieldChange]) -> VirtualServiceSettings:
    return _changed(vs.settings, fields, str(vs.key))


def _changed(
    settings: VirtualServiceSettings, fields: Iterable[FieldChange], where: str
) -> VirtualServiceSettings:
    """``settings`` with each field's new value, each old value checked (``_as_old``)."""
    fields = tuple(fields)
    _as_old(settings, fields, where)
    return settings.model_copy(update={f.field: f.new for f in fields})


def _as_old(holder: object, fields: Iterable[FieldChange], where: str) -> None:
    """Raise unless ``holder`` (settings, a member) has each field's old value: a change
    describes the object it runs on (a plan file's shown ``old`` values included)."""
    for field in fields:
        have = getattr(holder, field.field)
        if _value(have) != _value(field.old):
            raise SimulationError(
                f"{where}: {field.field} is {have!r}, the change says it was {field.old!r}"
            )


def _value(value: object) -> object:
    # A plan file gives a list where the settings hold a tuple (ExtraPorts, option sets).
    return tuple(value) if isinstance(value, list | tuple) else value


def apply_change(state: ApplianceState, change: Change) -> None:
    """Run one change on ``state`` in place, as the appliance would."""
    match change:
        case CreateVirtualService():
            if change.key in state:
                raise SimulationError(f"create {change.key}: the key is taken")
            state[change.key] = VirtualServiceState(key=change.key, settings=change.settings)
        case AdoptVirtualService():
            vs = _existing(state, change)
            state[vs.key] = replace(vs, settings=_updated(vs, change.fields))
        case UpdateVirtualService():
            vs = _existing(state, change)
            settings = _updated(vs, change.fields)
            if change.new_key is not None:
                if change.new_key in state:
                    raise SimulationError(f"move to {change.new_key}: the key is taken")
                del state[change.key]
            state[change.final_key] = replace(vs, key=change.final_key, settings=settings)
        case DeleteVirtualService():
            _existing(state, change)
            del state[change.key]
        case AddRealServer():
            holder = _holder(state, change)
            if holder.member(change.member_key) is not None:
                raise SimulationError(
                    f"add {change.address}:{change.port} to {change.where}: already there"
                )
            added = RealServerState(
                change.address, change.port, change.weight, change.forward, change.enable
            )
            _with_members(state, change, holder, (*holder.real_servers, added))
        case UpdateRealServer():
            holder, found = _member(state, change)
            _as_old(found, change.fields, f"{change.address}:{change.port} in {change.where}")
            updates: dict[str, Any] = {f.field: f.new for f in change.fields}
            members = (replace(rs, **updates) if rs is found else rs for rs in holder.real_servers)
            _with_members(state, change, holder, members)
        case RemoveRealServer():
            holder, found = _member(state, change)
            kept = (rs for rs in holder.real_servers if rs is not found)
            _with_members(state, change, holder, kept)
        case SubServiceChange():
            _sub_service_change(state, change)
        case _:
            assert_never(change)


def simulate(state: ApplianceState, changes: Iterable[Change]) -> ApplianceState:
    """The state after every change has run (``state`` itself is left as it is)."""
    final = dict(state)
    for change in changes:
        apply_change(final, change)
    return final


def moves_of(changes: Iterable[Change]) -> dict[VirtualServiceKey, VirtualServiceKey]:
    """Every VS the changes move: key before → key after."""
    return {
        change.key: change.new_key
        for change in changes
        if isinstance(change, UpdateVirtualService) and change.new_key is not None
    }


def serving_services(
    state: ApplianceState, changes: Sequence[Change]
) -> dict[VirtualServiceKey, VirtualServiceKey]:
    """Services that serve before and after the plan: key before → key after (moves followed)."""
    final = simulate(state, changes)
    moves = moves_of(changes)
    serving: dict[VirtualServiceKey, VirtualServiceKey] = {}
    for key, vs in state.items():
        after = final.get(moves.get(key, key))
        if vs.enabled_members and after is not None and after.enabled_members:
            serving[key] = after.key
    return serving


def _sub_enabled(vs: VirtualServiceState | None, marker: str | None) -> int:
    """How many enabled members the SubVS ``marker`` of ``vs`` has (0 when there is none)."""
    sub = vs.sub_service(marker) if vs is not None and marker is not None else None
    return sum(1 for rs in sub.real_servers if rs.enable) if sub is not None else 0


def serving_sub_services(
    state: ApplianceState, changes: Sequence[Change]
) -> set[tuple[VirtualServiceKey, str | None]]:
    """The SubVSs that serve before and after the plan, as (parent key after, marker)."""
    final = simulate(state, changes)
    moves = moves_of(changes)
    serving: set[tuple[VirtualServiceKey, str | None]] = set()
    for key, vs in state.items():
        after = moves.get(key, key)
        serving |= {
            (after, sub.marker)
            for sub in vs.sub_vs
            if _sub_enabled(vs, sub.marker) and _sub_enabled(final.get(after), sub.marker)
        }
    return serving


def break_before_make(state: ApplianceState, changes: Sequence[Change]) -> list[str]:
    """Each write that leaves a serving service, or a serving SubVS, with no enabled member
    (empty: the order is safe).

    One pass over the changes: a write only affects the VS it names, so only that VS is checked
    after it (a service emptied by one write stays empty until a later write touches it).
    """
    origin_at = {key: key for key in serving_services(state, changes)}  # key now → key before
    subs = serving_sub_services(state, changes)
    current = dict(state)
    problems: list[str] = []
    for position, change in enumerate(changes, start=1):
        apply_change(current, change)
        marker = change.in_sub_service
        if (change.final_key, marker) in subs and not _sub_enabled(
            current.get(change.final_key), marker
        ):
            problems.append(
                f"after write {position} ({change.action} {change.key}), SubVS {marker} of "
                f"{change.final_key} has no enabled member"
            )
        if change.final_key != change.key and change.key in origin_at:
            origin_at[change.final_key] = origin_at.pop(change.key)
        key = change.final_key
        vs = current.get(key)
        if key in origin_at and (vs is None or not vs.enabled_members):
            problems.append(
                f"after write {position} ({change.action} {change.key}), "
                f"{origin_at[key]} has no enabled member"
            )
    return problems
