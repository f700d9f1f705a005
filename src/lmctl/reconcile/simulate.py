"""Run a plan's changes against an in-memory appliance state, without any appliance.

Used to predict the state a plan leaves (what apply verifies afterwards), to evaluate the safety
rules, and to check make-before-break: after every single write, each service that serves before
and after the plan still has at least one enabled member.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.reconcile.changes import (
    AddRealServer,
    Change,
    CreateVirtualService,
    DeleteVirtualService,
    FieldChange,
    RemoveRealServer,
    UpdateRealServer,
    UpdateVirtualService,
    final_key,
)
from lmctl.reconcile.state import ApplianceState, RealServerState, VirtualServiceState


class SimulationError(ValueError):
    """A change that cannot run on the state it meets (a bug in the plan, never expected)."""


def _updated(model: RealServerState, fields: Iterable[FieldChange]) -> RealServerState:
    updates: dict[str, Any] = {f.field: f.new for f in fields}
    return replace(model, **updates)


def _existing(state: ApplianceState, key: VirtualServiceKey, change: Change) -> VirtualServiceState:
    vs = state.get(key)
    if vs is None:
        raise SimulationError(f"{change.action} on {key}: no such virtual service")
    return vs


def _update_vs(state: ApplianceState, change: UpdateVirtualService) -> None:
    vs = _existing(state, change.key, change)
    settings = vs.settings.model_copy(update={f.field: f.new for f in change.fields})
    if change.new_key is not None:
        if change.new_key in state:
            raise SimulationError(f"move to {change.new_key}: the key is taken")
        del state[change.key]
    key = change.new_key or change.key
    state[key] = replace(vs, key=key, settings=settings)


def _with_members(
    vs: VirtualServiceState, members: Iterable[RealServerState]
) -> VirtualServiceState:
    return replace(vs, real_servers=tuple(members))


def _member_change(state: ApplianceState, change: Change) -> None:
    assert isinstance(change, AddRealServer | UpdateRealServer | RemoveRealServer)
    vs = _existing(state, change.key, change)
    found = vs.member((change.address, change.port))
    if isinstance(change, AddRealServer):
        if found is not None:
            raise SimulationError(f"add {change.address}:{change.port} to {vs.key}: already there")
        added = RealServerState(
            address=change.address,
            port=change.port,
            weight=change.weight,
            forward=change.forward,
            enable=change.enable,
        )
        state[vs.key] = _with_members(vs, (*vs.real_servers, added))
        return
    if found is None:
        raise SimulationError(f"{change.action} {change.address}:{change.port}: not in {vs.key}")
    if isinstance(change, UpdateRealServer):
        members = (_updated(rs, change.fields) if rs is found else rs for rs in vs.real_servers)
    else:
        members = (rs for rs in vs.real_servers if rs is not found)
    state[vs.key] = _with_members(vs, members)


def apply_change(state: ApplianceState, change: Change) -> None:
    """Run one change on ``state`` in place, as the appliance would."""
    if isinstance(change, CreateVirtualService):
        if change.key in state:
            raise SimulationError(f"create {change.key}: the key is taken")
        state[change.key] = VirtualServiceState(key=change.key, settings=change.settings)
    elif isinstance(change, UpdateVirtualService):
        _update_vs(state, change)
    elif isinstance(change, DeleteVirtualService):
        _existing(state, change.key, change)
        del state[change.key]
    else:
        _member_change(state, change)


def simulate(state: ApplianceState, changes: Iterable[Change]) -> ApplianceState:
    """The state after every change has run."""
    final = dict(state)
    for change in changes:
        apply_change(final, change)
    return final


def moves_of(changes: Iterable[Change]) -> dict[VirtualServiceKey, VirtualServiceKey]:
    """Every VS the changes move: key before → key after."""
    return {
        c.key: c.new_key
        for c in changes
        if isinstance(c, UpdateVirtualService) and c.new_key is not None
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
        moved_to = change.new_key if isinstance(change, UpdateVirtualService) else None
        if moved_to is not None and change.key in origin_at:
            origin_at[moved_to] = origin_at.pop(change.key)
        key = final_key(change)
        vs = current.get(key)
        if key in origin_at and (vs is None or not vs.enabled_members):
            problems.append(
                f"after write {position} ({change.action} {change.key}), "
                f"{origin_at[key]} has no enabled member"
            )
    return problems
