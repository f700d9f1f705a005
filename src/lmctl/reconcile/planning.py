"""Build a ``Plan`` from desired and observed state: pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from lmctl import __version__
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualService
from lmctl.reconcile.diff import diff, touched_keys
from lmctl.reconcile.plan import AppliancePlan, ManagedArray, Plan, TouchedObject
from lmctl.reconcile.safety import check_safety
from lmctl.reconcile.scope import ArrayScope
from lmctl.reconcile.state import ApplianceState, appliance_state


def managed_arrays(state: ApplianceState) -> tuple[ManagedArray, ...]:
    """Per array, its marked VSs and their real servers on this appliance."""
    counts: dict[str, tuple[int, int]] = {}
    for vs in state.values():
        if vs.owner is not None:
            services, members = counts.get(vs.owner.array, (0, 0))
            counts[vs.owner.array] = (services + 1, members + len(vs.real_servers))
    return tuple(
        ManagedArray(array=array, virtual_services=services, real_servers=members)
        for array, (services, members) in sorted(counts.items())
    )


def plan_appliance(
    name: str,
    desired: Sequence[DesiredVirtualService],
    state: ApplianceState,
    scope: ArrayScope = None,
) -> AppliancePlan:
    """The plan of one appliance from its desired VSs and its state as read."""
    found = diff(desired, state, scope)
    touched = sorted(touched_keys(found.changes), key=str)
    return AppliancePlan(
        name=name,
        changes=found.changes,
        conflicts=found.conflicts,
        drained=found.drained,
        observed=tuple(TouchedObject(key=key, state=state.get(key)) for key in touched),
        managed=managed_arrays(state),
    )


def make_plan(
    desired: Mapping[str, Sequence[DesiredVirtualService]],
    observed: Mapping[str, Sequence[VirtualService]],
    *,
    specs_digest: str,
    spec_paths: Sequence[str] = (),
    scope: ArrayScope = None,
    now: datetime | None = None,
) -> Plan:
    """The plan over every observed appliance.

    With ``scope`` None an appliance no array wants is emptied of marks; a narrowed scope
    (``lmctl.reconcile.scope``) leaves the marked VSs of every other array alone.
    """
    appliances = tuple(
        plan_appliance(name, desired.get(name, ()), appliance_state(observed[name]), scope)
        for name in sorted(observed)
    )
    return Plan(
        lmctl_version=__version__,
        created_at=now or datetime.now(UTC),
        specs_digest=specs_digest,
        spec_paths=tuple(spec_paths),
        scope=scope,
        appliances=appliances,
        violations=tuple(v for a in appliances for v in check_safety(a)),
    )
