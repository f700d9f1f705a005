"""Safety rules: plans that could take an array or a service down stop until an operator allows
them, one rule at a time (``--allow RULE``) or all at once (``--force``).

The rules count what an operator thinks in: the members of an array and its services (one
virtual service each), never real-server rows (one member of three removed from an array of six
services is one member, not six rows):

- ``array-deleted``: deleting every virtual service of an array;
- ``appliance-move``: an array moving to another appliance (``appliance:`` changed): apply makes
  its virtual services there first and deletes them here after, so both appliances hold its VIP
  meanwhile;
- ``bulk-removal``: removing more than a share (30 %) of an appliance's managed services, or of
  the members of its arrays, counted only from a minimum (10) of them (the thresholds of
  octoDNS, whose plans check update and delete shares only from ``MIN_EXISTING_RECORDS`` = 10
  records; both are set per inventory, ``safety: bulk_removal:``);
- ``failover-lost``: leaving a kept service of an array with fewer than two members when it had
  two or more: one server left, no failover;
- ``virtual-service-moved``: moving an array's virtual services to another address (its VIP
  changed): every client (DNS, Outlook profiles) still points at the old VIP until DNS follows;
- ``unmanaged-deleted``: deleting a virtual service that holds what lmctl does not manage
  (content rules, SSL acceleration and certificates, WAF, ESP, SubVSs: an adopted VS's):
  ``delvs`` destroys them and lmctl cannot make them again;
- ``layer-7-dropped``: taking a virtual service that holds such settings from layer 7 to layer
  4: they work only at layer 7 (Kemp: content switching and SSL acceleration make Force L4
  disappear; WAF and ESP act on HTTP requests), so they would stop working while the plan says
  they are left alone;
- ``reencryption-made-transparent``: making a virtual service with SSL re-encryption
  transparent: Kemp's transparency feature description ("Implications of Network
  Transparency") says transparency "cannot use with SSL re-encryption".
One more check is no rule an admin can waive: the write order itself is simulated, and a plan
in which any single write would leave a serving service without an enabled member is refused
even with ``--force`` (``break-before-make``; it would be a bug in lmctl's ordering).

The rules are pure functions of one appliance's changes, its state as read, what lmctl managed
there and which of its arrays move to another appliance. Unmarked virtual services appear in a
plan's changes only when their array adopts them (``AdoptVirtualService``, on exactly a key the
array wants), and are never deleted; once adopted, an adopted VS counts as its array's for the
rules above.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from lmctl.appliance.changes import (
    AddRealServer,
    AdoptVirtualService,
    Change,
    DeleteVirtualService,
    FieldValue,
    RemoveRealServer,
    UpdateVirtualService,
)
from lmctl.appliance.state import ApplianceState, VirtualServiceState
from lmctl.plan.simulate import break_before_make, moves_of, simulate
from lmctl.specs.inventory import BulkRemovalLimits

SafetyRule = Literal[
    "array-deleted",
    "appliance-move",
    "bulk-removal",
    "failover-lost",
    "virtual-service-moved",
    "unmanaged-deleted",
    "layer-7-dropped",
    "reencryption-made-transparent",
    "break-before-make",
]
# A violation of this rule is refused even with --force.
UNWAIVABLE_RULES: frozenset[SafetyRule] = frozenset({"break-before-make"})
# What ``--allow RULE`` takes (and ``--force`` waives all at once), in the order of the docs.
WAIVABLE_RULES: tuple[SafetyRule, ...] = tuple(
    rule for rule in get_args(SafetyRule) if rule not in UNWAIVABLE_RULES
)


class SafetyViolation(BaseModel):
    """A change that needs ``--allow RULE`` (or ``--force``): it could take an array or a
    service out of service."""

    model_config = ConfigDict(frozen=True)

    appliance: str
    rule: SafetyRule
    message: str


def blocking(
    violations: Sequence[SafetyViolation], *, force: bool = False, allow: Collection[str] = ()
) -> list[SafetyViolation]:
    """The violations the operator has not waived (``--force`` waives every waivable rule,
    ``--allow RULE`` one); an unwaivable rule always blocks."""
    return [v for v in violations if v.rule in UNWAIVABLE_RULES or not (force or v.rule in allow)]


def unknown_rules(names: Collection[str]) -> list[str]:
    """The names among ``names`` that ``--allow`` does not take (not a waivable rule)."""
    return [name for name in names if name not in WAIVABLE_RULES]


class ManagedArray(BaseModel):
    """What one array had on the appliance when planned: its marked VSs, their real servers
    (rows), and its members (each member's address with the number of its VSs it serves)."""

    model_config = ConfigDict(frozen=True)

    array: str
    virtual_services: int
    real_servers: int
    members: dict[str, int] = Field(default_factory=dict)


def managed_arrays(state: ApplianceState) -> tuple[ManagedArray, ...]:
    """Per array, its marked VSs, their real servers and its members on this appliance."""
    services: Counter[str] = Counter()
    members: dict[str, Counter[str]] = {}
    for vs in state.values():
        if vs.owner is not None:
            services[vs.owner.array] += 1
            rows = members.setdefault(vs.owner.array, Counter())
            rows.update(rs.address for rs in vs.real_servers)
            rows.update(rs.address for sub in vs.sub_vs for rs in sub.real_servers)
    return tuple(
        ManagedArray(
            array=array,
            virtual_services=services[array],
            real_servers=sum(members[array].values()),
            members=dict(sorted(members[array].items())),
        )
        for array in sorted(services)
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _names(items: Collection[str]) -> str:
    return ", ".join(sorted(items))


class _Rules:
    """The rules over one appliance's plan; each method returns the violations of one rule."""

    def __init__(
        self,
        appliance: str,
        changes: Sequence[Change],
        before: ApplianceState,
        managed: Sequence[ManagedArray],
        limits: BulkRemovalLimits,
        moving_away: Mapping[str, Collection[str]],
    ) -> None:
        self.appliance = appliance
        self.changes = changes
        self.before = before
        self.managed = managed
        self.limits = limits
        self.moving_away = moving_away
        self.deletes = [c for c in changes if isinstance(c, DeleteVirtualService)]
        # An array moving to another appliance is the move rule's, not the removal rules'.
        self.removals = [c for c in self.deletes if c.array not in moving_away]

    def violation(self, rule: SafetyRule, message: str) -> SafetyViolation:
        return SafetyViolation(appliance=self.appliance, rule=rule, message=message)

    def array_deletions(self) -> list[SafetyViolation]:
        deleted = Counter(change.array for change in self.removals)
        # An array that adopts VSs in the same plan keeps serving from them (a VS carrying
        # its marker by hand on another VIP is deleted while the array adopts its own).
        serving = {c.array for c in self.changes if isinstance(c, AdoptVirtualService)}
        return [
            self.violation(
                "array-deleted",
                f"{self.appliance}: the plan deletes every virtual service of array "
                f"{m.array!r} ({m.virtual_services}); the array would stop serving",
            )
            for m in self.managed
            if m.virtual_services
            and deleted[m.array] >= m.virtual_services
            and m.array not in serving
        ]

    def appliance_moves(self) -> list[SafetyViolation]:
        deleted = Counter(change.array for change in self.deletes)
        return [
            self.violation(
                "appliance-move",
                f"{self.appliance}: array {array!r} moves to {_names(new)}: apply makes its "
                f"virtual services there first, then deletes its {deleted[array]} here; "
                f"in between, both appliances hold its addresses (a duplicate address on the "
                "network): apply it in a maintenance window",
            )
            for array, new in sorted(self.moving_away.items())
            if deleted[array]
        ]

    def _members_removed(self) -> int:
        """Members (an array's member: its address) left in none of their array's VSs."""
        delta: Counter[tuple[str, str]] = Counter()
        for change in self.changes:
            if isinstance(change, AddRealServer):
                delta[(change.array, change.address)] += 1
            elif isinstance(change, RemoveRealServer):
                delta[(change.array, change.address)] -= 1
        for change in self.removals:
            vs = self.before.get(change.key)
            subs = vs.sub_vs if vs is not None else ()
            rows = [
                *(vs.real_servers if vs is not None else ()),
                *(rs for sub in subs for rs in sub.real_servers),
            ]
            for rs in rows:
                delta[(change.array, rs.address)] -= 1
        return sum(
            1
            for m in self.managed
            for address, rows in m.members.items()
            if rows + delta[(m.array, address)] <= 0
        )

    def bulk_removals(self) -> list[SafetyViolation]:
        counts = (
            ("services", len(self.removals), sum(m.virtual_services for m in self.managed)),
            ("array members", self._members_removed(), sum(len(m.members) for m in self.managed)),
        )
        limit = self.limits.percent / 100
        return [
            self.violation(
                "bulk-removal",
                f"{self.appliance}: the plan removes {removed} of the {existing} {noun} lmctl "
                f"manages here ({_share(removed, existing):.0%}, more than "
                f"{self.limits.percent:g}%)",
            )
            for noun, removed, existing in counts
            if existing >= self.limits.minimum and _share(removed, existing) > limit
        ]

    def lost_failover(self) -> list[SafetyViolation]:
        """One violation per array whose kept services go from two or more members to one or
        none, naming each such service."""
        after = simulate(self.before, self.changes)
        moves = moves_of(self.changes)
        thinned: dict[str, list[str]] = {}
        for key, vs in self.before.items():
            kept = after.get(moves.get(key, key))
            if kept is None or kept.owner is None:
                continue
            if len(vs.real_servers) >= 2 and len(kept.real_servers) < 2:
                thinned.setdefault(kept.owner.array, []).append(
                    f"{kept.owner.service} ({kept.key}) {len(vs.real_servers)} → "
                    f"{len(kept.real_servers)}"
                )
            # A per-protocol parent's kept SubVSs likewise (a directory that goes is no loss).
            for sub in vs.sub_vs:
                now = kept.sub_service(sub.marker)
                if now is not None and len(sub.real_servers) >= 2 > len(now.real_servers):
                    thinned.setdefault(kept.owner.array, []).append(
                        f"SubVS {sub.marker} ({kept.key}) {len(sub.real_servers)} → "
                        f"{len(now.real_servers)}"
                    )
        for services in thinned.values():
            services.sort()
        return [
            self.violation(
                "failover-lost",
                f"{self.appliance}: array {array!r} is left with fewer than two members, no "
                f"failover: {', '.join(services)}",
            )
            for array, services in sorted(thinned.items())
        ]

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
                "--allow virtual-service-moved once DNS is ready",
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
    *,
    limits: BulkRemovalLimits | None = None,
    moving_away: Mapping[str, Collection[str]] | None = None,
) -> list[SafetyViolation]:
    """Every safety rule one appliance's plan breaks (empty: safe without waivers).

    ``before`` is the state, as read, of every object the changes touch; ``managed`` what lmctl
    managed on the appliance per array; ``limits`` the bulk-removal thresholds (the inventory's;
    default 30 % from 10); ``moving_away`` the arrays whose VSs here are deleted because they
    now live on another appliance (array → the appliances it moves to).
    """
    rules = _Rules(
        appliance, changes, before, managed, limits or BulkRemovalLimits(), moving_away or {}
    )
    return (
        rules.array_deletions()
        + rules.appliance_moves()
        + rules.bulk_removals()
        + rules.lost_failover()
        + rules.moved_addresses()
        + rules.unmanaged_deletions()
        + rules.layer_7_dropped()
        + rules.reencryption_made_transparent()
        + rules.broken_order()
    )
