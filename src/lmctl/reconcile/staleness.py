"""Is a saved plan still applicable? Stale (something it touches changed), or already applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lmctl.loadmaster.models import VirtualService
from lmctl.reconcile.drift import Drift, compare
from lmctl.reconcile.plan import Plan
from lmctl.reconcile.simulate import simulate
from lmctl.reconcile.state import appliance_state


def stale_objects(plan: Plan, observed: Mapping[str, Sequence[VirtualService]]) -> list[Drift]:
    """Every touched object that is no longer as the saved plan read it."""
    drift: list[Drift] = []
    for appliance in plan.appliances:
        found = appliance_state(observed[appliance.name])
        keys = [t.key for t in appliance.observed]
        drift += compare(appliance.name, keys, appliance.observed_state(), found)
    return drift


def already_applied(plan: Plan, observed: Mapping[str, Sequence[VirtualService]]) -> bool:
    """True when the appliances already hold what applying ``plan`` would make (and it would
    change something): every touched object is as the plan's changes leave it."""
    if not plan.has_changes:
        return False
    for appliance in plan.appliances:
        expected = simulate(appliance.observed_state(), appliance.changes)
        found = appliance_state(observed[appliance.name])
        keys = [t.key for t in appliance.observed]
        if compare(appliance.name, keys, expected, found):
            return False
    return True
