"""Safety rules: plans that could take an array or a service down need ``--force``.

- deleting every virtual service of an array;
- removing more than 30 % of an appliance's managed virtual services, or of its managed real
  servers (members of deleted virtual services count as removed);
- leaving a kept service with fewer than two members when it had two or more;
- moving an array's virtual services to another address (its VIP changed): every client
  (DNS, Outlook profiles) still points at the old VIP until DNS follows;
- deleting a virtual service that holds what lmctl does not manage (content rules, SSL
  acceleration and certificates, WAF, ESP, SubVSs: an adopted VS's): ``delvs`` destroys them
  and lmctl cannot make them again;
- taking a virtual service that holds such settings from layer 7 to layer 4: they work only at
  layer 7 (Kemp: content switching and SSL acceleration make Force L4 disappear; WAF and ESP
  act on HTTP requests), so they would stop working while the plan says they are left alone;
- making a virtual service with SSL re-encryption transparent: Kemp's transparency feature
  description ("Implications of Network Transparency") says transparency "cannot use with SSL
  re-encryption".
One more check is no rule an admin can waive: the write order itself is simulated, and a plan
in which any single write would leave a serving service without an enabled member is refused
even with ``--force`` (``break-before-make``; it would be a bug in lmctl's ordering).

The rules are pure functions of one appliance's changes, its state as read and what lmctl
managed there. Unmarked virtual services appear in a plan's changes only when their array adopts
them (``AdoptVirtualService``, on exactly a key the array wants), and are never deleted; once
adopted, an adopted VS counts as its array's for the rules above.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lmctl.appliance.changes import (
    AdoptVirtualService,
    Change,
    DeleteVirtualService,
    FieldValue,
    RemoveRealServer,
    UpdateVirtualService,
)
from lmctl.appliance.state import ApplianceState, VirtualServiceState
from lmctl.plan.simulate import break_before_make, moves_of, simulate

BULK_REMOVAL_LIMIT = 0.30

SafetyRule = Literal[
    "array-deleted",
    "bulk-removal",
    "members-below-two",
    "virtual-service-moved",
    "unmanaged-deleted",
    "layer-7-dropped",
    "reencryption-made-transparent",
    "break-before-make",
]
# A violation of this rule is refused even with --force.
UNWAIVABLE_RULES: frozenset[SafetyRule] = frozenset({"break-before-make"})


class SafetyViolation(BaseModel):
    """A change that needs ``--force``: it could take an array or a service out of service."""

    model_config = ConfigDict(frozen=True)

    appliance: str
    rule: SafetyRule
    message: str


class ManagedArray(BaseModel):
    """How many marked VSs and real servers one array had on the appliance when planned."""

    model_config = ConfigDict(frozen=True)

    array: str
    virtual_services: int
    real_servers: int


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


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


class _Rules:
    """The rules over one appliance's plan; each method returns the violations of one rule."""

    def __init__(
        self,
        appliance: str,
        changes: Sequence[Change],
        before: ApplianceState,
        managed: Sequence[ManagedArray],
    ) -> None:
        self.appliance = appliance
        self.changes = changes
        self.before = before
        self.managed = managed
        self.deletes = [c for c in changes if isinstance(c, DeleteVirtualService)]

    def violation(self, rule: SafetyRule, message: str) -> SafetyViolation:
        return SafetyViolation(appliance=self.appliance, rule=rule, message=message)

    def array_deletions(self) -> list[SafetyViolation]:
        deleted = Counter(change.array for change in self.deletes)
        return [
            self.violation(
                "array-deleted",
                f"{self.appliance}: the plan deletes every virtual service of array "
                f"{m.array!r} ({m.virtual_services}); the array would stop serving",
            )
            for m in self.managed
            if m.virtual_services and deleted[m.array] >= m.virtual_services
        ]

    def bulk_removals(self) -> list[SafetyViolation]:
        removed_rs = sum(1 for c in self.changes if isinstance(c, RemoveRealServer))
        removed_rs += sum(change.real_servers for change in self.deletes)
        counts = (
            ("virtual services", len(self.deletes), sum(m.virtual_services for m in self.managed)),
            ("real servers", removed_rs, sum(m.real_servers for m in self.managed)),
        )
        return [
            self.violation(
                "bulk-removal",
                f"{self.appliance}: the plan removes {removed} of {managed} managed {noun} "
                f"({_share(removed, managed):.0%}, more than {BULK_REMOVAL_LIMIT:.0%})",
            )
            for noun, removed, managed in counts
            if _share(removed, managed) > BULK_REMOVAL_LIMIT
        ]

    def thinned_services(self) -> list[SafetyViolation]:
        after = simulate(self.before, self.changes)
        moves = moves_of(self.changes)
        violations = []
        for key, vs in sorted(self.before.items(), key=lambda item: str(item[0])):
            kept = after.get(moves.get(key, key))
            if kept is None or kept.owner is None:
                continue
            if len(vs.real_servers) >= 2 and len(kept.real_servers) < 2:
                violations.append(
                    self.violation(
                        "members-below-two",
                        f"{self.appliance}: {kept.owner.array}/{kept.owner.service} ({key}) goes "
                        f"from {len(vs.real_servers)} members to {len(kept.real_servers)}: "
                        "no failover left",
                    )
                )
        return violations

    def moved_addresses(self) -> list[SafetyViolation]:
        # One violation per array and address move, however many of its services move with it.
        moved = {
            (c.array, c.key.address, c.new_key.address): None
            for c in self.changes
            if isinstance(c, UpdateVirtualService)
            and c.new_key is not None
            and c.new_key.address != c.key.address
        }
        return [
            self.violation(
                "virtual-service-moved",
                f"{self.appliance}: moving {array}'s VIP from {old} to {new} breaks every "
                f"client until DNS (the array's namespace names) points at {new}; re-run with "
                "--force once DNS is ready",
            )
            for array, old, new in moved
        ]

    def unmanaged_deletions(self) -> list[SafetyViolation]:
        return [
            self.violation(
                "unmanaged-deleted",
                f"{self.appliance}: deleting {change.key} ({change.owner_label}) destroys what "
                f"lmctl does not manage and cannot make again: {', '.join(change.destroys)}",
            )
            for change in self.deletes
            if change.destroys
        ]

    def _settings_changed_to(
        self, field: str, value: FieldValue
    ) -> list[tuple[AdoptVirtualService | UpdateVirtualService, VirtualServiceState]]:
        """Each adoption or update that sets ``field`` to ``value``, with the VS as read."""
        return [
            (change, vs)
            for change in self.changes
            if isinstance(change, AdoptVirtualService | UpdateVirtualService)
            and any(f.field == field and f.new == value for f in change.fields)
            and (vs := self.before.get(change.key)) is not None
        ]

    def layer_7_dropped(self) -> list[SafetyViolation]:
        return [
            self.violation(
                "layer-7-dropped",
                f"{self.appliance}: {change.owner_label} ({change.key}) goes to layer 4, "
                f"where {', '.join(vs.unmanaged)} would stop working (they work only at "
                "layer 7; lmctl leaves them alone); set the service's layer to 7 in the "
                "spec (overrides), or remove them on the appliance first",
            )
            for change, vs in self._settings_changed_to("layer", 4)
            if vs.unmanaged
        ]

    def reencryption_made_transparent(self) -> list[SafetyViolation]:
        return [
            self.violation(
                "reencryption-made-transparent",
                f"{self.appliance}: {change.owner_label} ({change.key}) becomes transparent, "
                "and its SSL re-encryption (which lmctl leaves alone) does not work "
                "transparently; keep transparent: false for it in the spec (overrides), or turn "
                "re-encryption off on the appliance first",
            )
            for change, vs in self._settings_changed_to("transparent", True)
            if vs.ssl_reencrypt
        ]

    def broken_order(self) -> list[SafetyViolation]:
        return [
            self.violation(
                "break-before-make",
                f"{self.appliance}: {problem}; refused even with --force "
                "(lmctl's write order is wrong: please report it)",
            )
            for problem in break_before_make(self.before, self.changes)
        ]


def check_safety(
    appliance: str,
    changes: Sequence[Change],
    before: ApplianceState,
    managed: Sequence[ManagedArray],
) -> list[SafetyViolation]:
    """Every safety rule one appliance's plan breaks (empty: safe without ``--force``).

    ``before`` is the state, as read, of every object the changes touch; ``managed`` what lmctl
    managed on the appliance per array.
    """
    rules = _Rules(appliance, changes, before, managed)
    return (
        rules.array_deletions()
        + rules.bulk_removals()
        + rules.thinned_services()
        + rules.moved_addresses()
        + rules.unmanaged_deletions()
        + rules.layer_7_dropped()
        + rules.reencryption_made_transparent()
        + rules.broken_order()
    )
