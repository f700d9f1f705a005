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
    Change,
    CreateVirtualService,
    DeleteVirtualService,
    FieldChange,
    RemoveRealServer,
    UpdateRealServer,
    UpdateVirtualService,
)
from lmctl.appliance.state import ApplianceState, RealServerState, VirtualServiceState
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings


class SimulationError(ValueError):
    """A change that cannot run on the state it meets (a bug in the plan, never expected)."""


def _existing(state: ApplianceState, change: Change) -> VirtualServiceState:
    vs = state.get(change.key)
    if vs is None:
        raise SimulationError(f"{change.action} on {change.key}: no such virtual service")
    return vs


def _member(
    state: ApplianceState, change: UpdateRealServer | RemoveRealServer
) -> tuple[VirtualServiceState, RealServerState]:
    vs = _existing(state, change)
    found = vs.member(change.member_key)
    if found is None:
        raise SimulationError(f"{change.action} {change.address}:{change.port}: not in {vs.key}")
    return vs, found


def _with_members(
    vs: VirtualServiceState, members: Iterable[RealServerState]
) -> VirtualServiceState:
    return replace(vs, real_servers=tuple(members))


def _updated(vs: VirtualServiceState, fields: Iterable[FieldChange]) -> VirtualServiceSettings:
    return vs.settings.model_copy(update={f.field: f.new for f in fields})


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
            vs = _existing(state, change)
            if vs.member(change.member_key) is not None:
                raise SimulationError(
                    f"add {change.address}:{change.port} to {vs.key}: already there"
                )
            added = RealServerState(
                change.address, change.port, change.weight, change.forward, change.enable
            )
            state[vs.key] = _with_members(vs, (*vs.real_servers, added))
        case UpdateRealServer():
            vs, found = _member(state, change)
            updates: dict[str, Any] = {f.field: f.new for f in change.fields}
            members = (replace(rs, **updates) if rs is found else rs for rs in vs.real_servers)
            state[vs.key] = _with_members(vs, members)
        case RemoveRealServer():
            vs, found = _member(state, change)
            state[vs.key] = _with_members(vs, (rs for rs in vs.real_servers if rs is not found))
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


def break_before_make(state: ApplianceState, changes: Sequence[Change]) -> list[str]:
    """Each write that leaves a serving service with no enabled member (empty: the order is safe).

    One pass over the changes: a write only affects the VS it names, so only that VS is checked
    after it (a service emptied by one write stays empty until a later write touches it).
    """
    origin_at = {key: key for key in serving_services(state, changes)}  # key now → key before
    current = dict(state)
    problems: list[str] = []
    for position, change in enumerate(changes, start=1):
        apply_change(current, change)
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
