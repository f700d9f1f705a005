"""The plan: per appliance, the changes in write order, with what they were planned against.

A ``Plan`` is what ``lmctl plan`` prints, what ``--format json`` emits and what ``--out`` saves
(one schema, versioned by ``format_version``; ``lmctl.plan.planfile`` publishes it). It holds no
secret: appliances are named, with their URLs stripped of any credentials. Each appliance keeps
the state, as read, of every object its changes touch (``observed``), so a saved plan can be
checked for drift before it is applied, and what lmctl managed there per array (``managed``),
so its safety verdict can be made again. When no plan can be made, ``PlanFailure`` is the
document printed instead.

``make_plan`` is pure: desired services and observed states in, a ``Plan`` out, through the one
matcher (``lmctl.plan.match``), the diff (``lmctl.plan.diff``) and the safety rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from lmctl import __version__
from lmctl.appliance.changes import Change, SpecOrder, counted
from lmctl.appliance.state import ApplianceState, VirtualServiceState
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.plan.diff import diff, touched_keys
from lmctl.plan.match import (
    ArrayScope,
    Conflict,
    DrainedMember,
    in_scope,
    match_appliance,
    refuse_layout_switch,
)
from lmctl.plan.moves import ApplianceMove, appliance_moves, move_deletes_last, moving_away
from lmctl.plan.safety import ManagedArray, SafetyViolation, check_safety, managed_arrays
from lmctl.specs.inventory import BulkRemovalLimits

PLAN_FORMAT_VERSION: Literal[1] = 1
PLAN_KIND: Literal["lmctl-plan"] = "lmctl-plan"
PLAN_FAILURE_KIND: Literal["lmctl-plan-failure"] = "lmctl-plan-failure"


class TouchedObject(BaseModel):
    """A VS key a change acts on, with its state when the plan read it (None: absent)."""

    model_config = ConfigDict(frozen=True)

    key: VirtualServiceKey
    state: VirtualServiceState | None


class Summary(BaseModel):
    """Counts of changes by kind (each change's ``action``), plus conflicts."""

    model_config = ConfigDict(frozen=True)

    adopt_vs: int = 0
    create_vs: int = 0
    update_vs: int = 0
    delete_vs: int = 0
    add_rs: int = 0
    update_rs: int = 0
    remove_rs: int = 0
    create_subvs: int = 0
    update_subvs: int = 0
    delete_subvs: int = 0
    create_rule: int = 0
    update_rule: int = 0
    delete_rule: int = 0
    assign_rule: int = 0
    unassign_rule: int = 0
    conflicts: int = 0

    @classmethod
    def of(cls, changes: Sequence[Change], conflicts: int = 0) -> Summary:
        """The counts of ``changes`` by action."""
        counts: Counter[str] = Counter(change.action for change in changes)
        return cls.model_validate({**counts, "conflicts": conflicts})

    @property
    def writes(self) -> int:
        """Number of API writes the plan makes (one per change)."""
        return sum(getattr(self, name) for name in Summary.model_fields if name != "conflicts")

    def __add__(self, other: Summary) -> Summary:
        return Summary(
            **{name: getattr(self, name) + getattr(other, name) for name in Summary.model_fields}
        )

    def line(self) -> str:
        """The one-line summary printed under every plan."""
        conflicts = f"; {counted(self.conflicts, 'conflict')}"
        adopt = f"{self.adopt_vs} to adopt, " if self.adopt_vs else ""
        return (
            f"Plan: {adopt}{self.create_vs} to create, {self.update_vs} to update, "
            f"{self.delete_vs} to delete (virtual services); {self.add_rs} to add, "
            f"{self.update_rs} to change, {self.remove_rs} to remove (real servers)"
            f"{self._sub_services_part()}{conflicts if self.conflicts else ''}."
        )

    def _sub_services_part(self) -> str:
        """The SubVS and content-rule counts, only on a plan that has any."""
        subs = (self.create_subvs, self.update_subvs, self.delete_subvs)
        rules = (self.create_rule, self.assign_rule, self.unassign_rule, self.delete_rule)
        if not any((*subs, *rules, self.update_rule)):
            return ""
        # A rule is updated only when someone changed it on the appliance: said when it is.
        update = f"{self.update_rule} to update, " if self.update_rule else ""
        return (
            f"; {subs[0]} to create, {subs[1]} to update, {subs[2]} to delete (SubVSs); "
            f"{rules[0]} to create, {update}{rules[1]} to assign, {rules[2]} to unassign, "
            f"{rules[3]} to delete (content rules)"
        )


class ServiceRef(BaseModel):
    """One service of one array."""

    model_config = ConfigDict(frozen=True)

    array: str
    service: str


class AppliancePlan(BaseModel):
    """Everything planned for one appliance."""

    model_config = ConfigDict(frozen=True)

    name: str
    # The appliance's URL when planned, without credentials (``planfile.public_url``); a saved
    # plan is applied only to the box it was planned against.
    url: str | None = None
    changes: tuple[Change, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    drained: tuple[DrainedMember, ...] = ()
    observed: tuple[TouchedObject, ...] = ()
    managed: tuple[ManagedArray, ...] = ()
    # The services the specs want here, in the specs' order (arrays as loaded, each one's
    # services in its profile's order): the order the plan is shown in. A service that left
    # the specs comes after them, by name (as does every service of a plan saved without it).
    order: tuple[ServiceRef, ...] = ()

    def spec_order(self) -> SpecOrder:
        """``order`` as sort keys."""
        return SpecOrder((ref.array, ref.service) for ref in self.order)

    def observed_state(self) -> ApplianceState:
        """The touched objects' state as read, as the simulator takes it."""
        return {t.key: t.state for t in self.observed if t.state is not None}

    @property
    def touched(self) -> list[VirtualServiceKey]:
        """The key of every object the changes touch (what drift is checked over)."""
        return [t.key for t in self.observed]

    def violations(
        self,
        limits: BulkRemovalLimits | None = None,
        moves: Sequence[ApplianceMove] = (),
    ) -> list[SafetyViolation]:
        """Every safety rule this appliance's changes break (``moves``: the plan's arrays
        moving between appliances)."""
        return check_safety(
            self.name,
            self.changes,
            self.observed_state(),
            self.managed,
            limits=limits,
            moving_away=moving_away(moves, self.name),
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> Summary:
        """Counts of this appliance's changes."""
        return Summary.of(self.changes, len(self.conflicts))


class Plan(BaseModel):
    """A plan over every appliance, as printed, emitted as JSON and saved with ``--out``."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = PLAN_FORMAT_VERSION
    kind: Literal["lmctl-plan"] = PLAN_KIND
    lmctl_version: str
    created_at: datetime
    specs_digest: str
    spec_paths: tuple[str, ...] = ()
    # None: every array on the appliances; names: only these (spec files given; see ``match``).
    scope: ArrayScope = None
    appliances: tuple[AppliancePlan, ...] = ()
    violations: tuple[SafetyViolation, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> Summary:
        """Counts over every appliance."""
        total = Summary()
        for appliance in self.appliances:
            total = total + appliance.summary
        return total

    @property
    def has_changes(self) -> bool:
        """True when applying would write anything."""
        return any(appliance.changes for appliance in self.appliances)

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        """Every conflict of every appliance."""
        return tuple(c for appliance in self.appliances for c in appliance.conflicts)

    def appliance(self, name: str) -> AppliancePlan:
        """The plan of one appliance by name."""
        for appliance in self.appliances:
            if appliance.name == name:
                return appliance
        raise KeyError(name)

    @property
    def moves(self) -> tuple[ApplianceMove, ...]:
        """The arrays this plan moves from one appliance to another."""
        return appliance_moves(self.appliances)

    def checked(self, limits: BulkRemovalLimits | None = None) -> Plan:
        """The plan with the safety verdict of this lmctl under the inventory's ``limits`` (an
        old or hand-edited saved plan skips no rule)."""
        moves = self.moves
        violations = tuple(v for a in self.appliances for v in a.violations(limits, moves))
        return self.model_copy(update={"violations": violations})

    def only(self, names: Sequence[str]) -> Plan:
        """The plan cut down to the appliances ``names`` (and their violations)."""
        return self.model_copy(
            update={
                "appliances": tuple(a for a in self.appliances if a.name in names),
                "violations": tuple(v for v in self.violations if v.appliance in names),
            }
        )


def plan_appliance(
    name: str,
    desired: Sequence[DesiredVirtualService],
    state: ApplianceState,
    scope: ArrayScope = None,
    adopting: Collection[str] = (),
) -> AppliancePlan:
    """The plan of one appliance from its desired VSs and its state as read; the arrays in
    ``adopting`` take over unmarked VSs on their keys."""
    matched = match_appliance(desired, state, scope, adopting)
    refuse_layout_switch(matched.services)
    found = diff(matched)
    touched = sorted(touched_keys(found.changes), key=str)
    return AppliancePlan(
        name=name,
        changes=found.changes,
        conflicts=found.conflicts,
        drained=found.drained,
        order=tuple(ServiceRef(array=array, service=service) for array, service in found.order),
        observed=tuple(TouchedObject(key=key, state=state.get(key)) for key in touched),
        managed=managed_arrays(state),
    )


def make_plan(
    desired: Mapping[str, Sequence[DesiredVirtualService]],
    observed: Mapping[str, ApplianceState],
    *,
    specs_digest: str,
    spec_paths: Sequence[str] = (),
    scope: ArrayScope = None,
    now: datetime | None = None,
    adopting: Collection[str] = (),
    limits: BulkRemovalLimits | None = None,
) -> Plan:
    """The plan over every observed appliance (``observe_all`` reads them), in the order of
    ``desired`` (the specs', ``lmctl.exchange.expand_all``).

    With ``scope`` None an appliance no array wants is emptied of marks; a narrowed scope
    (``lmctl.plan.match``) leaves the marked VSs of every other array alone, and plans only the
    appliances its arrays are or were on (``serves_scope``), so an array moved to another
    appliance is planned whole, whichever file names it. The arrays named in ``adopting`` adopt
    the unmarked VSs on their keys; ``limits`` are the inventory's bulk-removal thresholds.
    """
    # The specs' order (``expand_all``'s), then any other appliance read, by name.
    names = [name for name in desired if name in observed]
    names += sorted(name for name in observed if name not in desired)
    planned = tuple(
        plan_appliance(name, desired.get(name, ()), observed[name], scope, adopting)
        for name in names
        if serves_scope(scope, desired.get(name, ()), observed[name])
    )
    moves = appliance_moves(planned)
    appliances = tuple(_move_deletes_last(appliance, moves) for appliance in planned)
    plan = Plan(
        lmctl_version=__version__,
        created_at=now or datetime.now(UTC),
        specs_digest=specs_digest,
        spec_paths=tuple(spec_paths),
        scope=scope,
        appliances=appliances,
    )
    return plan.checked(limits)


def _move_deletes_last(plan: AppliancePlan, moves: Sequence[ApplianceMove]) -> AppliancePlan:
    """The appliance's plan with the deletes of its arrays moving away last: they are made
    after the new appliance holds the arrays (``lmctl.apply.execute``)."""
    now, later = move_deletes_last(plan.changes, moving_away(moves, plan.name))
    return plan.model_copy(update={"changes": now + later}) if later else plan


def serves_scope(
    scope: ArrayScope, desired: Sequence[DesiredVirtualService], state: ApplianceState
) -> bool:
    """True when a plan with ``scope`` has something to compare on an appliance: every
    appliance for every array, else one that an array in scope is on (desired there) or was on
    (a VS with its marker there)."""
    return (
        scope is None
        or bool(desired)
        or any(vs.owner is not None and in_scope(scope, vs.owner.array) for vs in state.values())
    )


FailureKind = Literal["specs", "usage", "appliance", "read", "certificate", "plan-file"]


class FailureDetail(BaseModel):
    """What failed (``kind``), the message, and any details (e.g. each spec error)."""

    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    message: str
    details: tuple[str, ...] = ()


class PlanFailure(BaseModel):
    """What ``plan --format json`` prints instead of a plan when it cannot make one."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = PLAN_FORMAT_VERSION
    kind: Literal["lmctl-plan-failure"] = PLAN_FAILURE_KIND
    lmctl_version: str
    error: FailureDetail
    exit_code: int
