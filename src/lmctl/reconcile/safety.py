"""Safety rules: plans that could take an array or a service down need ``--force``.

- deleting every virtual service of an array;
- removing more than 30 % of an appliance's managed virtual services, or of its managed real
  servers (members of deleted virtual services count as removed);
- leaving a kept service with fewer than two members when it had two or more;
- moving an array's virtual services to another address (its VIP changed): every client
  (DNS, Outlook profiles) still points at the old VIP until DNS follows.
One more check is no rule an admin can waive: the write order itself is simulated, and a plan
in which any single write would leave a serving service without an enabled member is refused
even with ``--force`` (``break-before-make``; it would be a bug in lmctl's ordering).
The rules are pure functions of an appliance's plan. Unmarked virtual services never appear in a
plan's changes, so no flag can make lmctl modify or delete them.
"""

from __future__ import annotations

from collections import Counter

from lmctl.reconcile.changes import DeleteVirtualService, RemoveRealServer, UpdateVirtualService
from lmctl.reconcile.plan import AppliancePlan, SafetyViolation
from lmctl.reconcile.simulate import break_before_make, moves_of, simulate

BULK_REMOVAL_LIMIT = 0.30


def _array_deletions(plan: AppliancePlan) -> list[SafetyViolation]:
    deleted = Counter(c.array for c in plan.changes if isinstance(c, DeleteVirtualService))
    return [
        SafetyViolation(
            appliance=plan.name,
            rule="array-deleted",
            message=(
                f"{plan.name}: the plan deletes every virtual service of array {m.array!r} "
                f"({m.virtual_services}); the array would stop serving"
            ),
        )
        for m in plan.managed
        if m.virtual_services and deleted[m.array] >= m.virtual_services
    ]


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _bulk_removals(plan: AppliancePlan) -> list[SafetyViolation]:
    managed_vs = sum(m.virtual_services for m in plan.managed)
    managed_rs = sum(m.real_servers for m in plan.managed)
    deletes = [c for c in plan.changes if isinstance(c, DeleteVirtualService)]
    removed_rs = sum(1 for c in plan.changes if isinstance(c, RemoveRealServer))
    removed_rs += sum(c.real_servers for c in deletes)
    violations = []
    for noun, removed, managed in (
        ("virtual services", len(deletes), managed_vs),
        ("real servers", removed_rs, managed_rs),
    ):
        if _share(removed, managed) > BULK_REMOVAL_LIMIT:
            violations.append(
                SafetyViolation(
                    appliance=plan.name,
                    rule="bulk-removal",
                    message=(
                        f"{plan.name}: the plan removes {removed} of {managed} managed {noun} "
                        f"({_share(removed, managed):.0%}, more than "
                        f"{BULK_REMOVAL_LIMIT:.0%})"
                    ),
                )
            )
    return violations


def _thinned_services(plan: AppliancePlan) -> list[SafetyViolation]:
    before = plan.observed_state()
    after = simulate(before, plan.changes)
    moves = moves_of(plan.changes)
    violations = []
    for key, vs in sorted(before.items(), key=lambda item: str(item[0])):
        kept = after.get(moves.get(key, key))
        if kept is None or vs.owner is None:
            continue
        if len(vs.real_servers) >= 2 and len(kept.real_servers) < 2:
            violations.append(
                SafetyViolation(
                    appliance=plan.name,
                    rule="members-below-two",
                    message=(
                        f"{plan.name}: {vs.owner.array}/{vs.owner.service} ({key}) goes from "
                        f"{len(vs.real_servers)} members to {len(kept.real_servers)}: "
                        "no failover left"
                    ),
                )
            )
    return violations


def _moved_addresses(plan: AppliancePlan) -> list[SafetyViolation]:
    # One violation per array and address move, however many of its services move with it.
    moved = {
        (c.array, c.key.address, c.new_key.address): None
        for c in plan.changes
        if isinstance(c, UpdateVirtualService)
        and c.new_key is not None
        and c.new_key.address != c.key.address
    }
    return [
        SafetyViolation(
            appliance=plan.name,
            rule="virtual-service-moved",
            message=(
                f"{plan.name}: moving {array}'s VIP from {old} to {new} breaks every client "
                f"until DNS (the array's namespace names) points at {new}; re-run with --force "
                "once DNS is ready"
            ),
        )
        for array, old, new in moved
    ]


def _broken_order(plan: AppliancePlan) -> list[SafetyViolation]:
    return [
        SafetyViolation(
            appliance=plan.name,
            rule="break-before-make",
            message=(
                f"{plan.name}: {problem}; refused even with --force "
                "(lmctl's write order is wrong: please report it)"
            ),
        )
        for problem in break_before_make(plan.observed_state(), plan.changes)
    ]


def check_safety(plan: AppliancePlan) -> list[SafetyViolation]:
    """Every safety rule the appliance's plan breaks (empty: safe without ``--force``)."""
    return (
        _array_deletions(plan)
        + _bulk_removals(plan)
        + _thinned_services(plan)
        + _moved_addresses(plan)
        + _broken_order(plan)
    )
