"""The plan: per appliance, the changes in write order, with what they were planned against.

A ``Plan`` is what ``lmctl plan`` prints, what ``--format json`` emits and what ``--out`` saves
(one schema, versioned by ``format_version``). It holds no secret: appliances are named,
with their URLs stripped of any credentials (``origin``). Each appliance keeps the state, as
read, of every object its changes touch (``observed``), so a saved plan can be checked for
drift before it is applied.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.reconcile.changes import Change, Conflict, DrainedMember
from lmctl.reconcile.state import ApplianceState, VirtualServiceState

PLAN_FORMAT_VERSION: Literal[1] = 1
PLAN_KIND: Literal["lmctl-plan"] = "lmctl-plan"
PLAN_FAILURE_KIND: Literal["lmctl-plan-failure"] = "lmctl-plan-failure"

SafetyRule = Literal[
    "array-deleted",
    "bulk-removal",
    "members-below-two",
    "virtual-service-moved",
    "break-before-make",
]
# A violation of this rule is refused even with --force (see ``safety``).
UNWAIVABLE_RULES: frozenset[SafetyRule] = frozenset({"break-before-make"})


class TouchedObject(BaseModel):
    """A VS key a change acts on, with its state when the plan read it (None: absent)."""

    model_config = ConfigDict(frozen=True)

    key: VirtualServiceKey
    state: VirtualServiceState | None


class ManagedArray(BaseModel):
    """How many marked VSs and real servers one array had on the appliance when planned."""

    model_config = ConfigDict(frozen=True)

    array: str
    virtual_services: int
    real_servers: int


class SafetyViolation(BaseModel):
    """A change that needs ``--force``: it could take an array or a service out of service."""

    model_config = ConfigDict(frozen=True)

    appliance: str
    rule: SafetyRule
    message: str


class Summary(BaseModel):
    """Counts of changes by kind, plus conflicts."""

    model_config = ConfigDict(frozen=True)

    create_vs: int = 0
    update_vs: int = 0
    delete_vs: int = 0
    add_rs: int = 0
    update_rs: int = 0
    remove_rs: int = 0
    conflicts: int = 0

    @property
    def writes(self) -> int:
        """Number of API writes the plan makes (one per change)."""
        return (
            self.create_vs
            + self.update_vs
            + self.delete_vs
            + self.add_rs
            + self.update_rs
            + self.remove_rs
        )

    def __add__(self, other: Summary) -> Summary:
        return Summary(
            **{name: getattr(self, name) + getattr(other, name) for name in Summary.model_fields}
        )

    def line(self) -> str:
        """The one-line summary printed under every plan."""
        conflicts = f"; {self.conflicts} conflict{'s' if self.conflicts != 1 else ''}"
        return (
            f"Plan: {self.create_vs} to create, {self.update_vs} to update, "
            f"{self.delete_vs} to delete (virtual services); {self.add_rs} to add, "
            f"{self.update_rs} to change, {self.remove_rs} to remove (real servers)"
            f"{conflicts if self.conflicts else ''}."
        )


class AppliancePlan(BaseModel):
    """Everything planned for one appliance."""

    model_config = ConfigDict(frozen=True)

    name: str
    # The appliance's URL when planned, without credentials (``origin``); a saved plan is
    # applied only to the box it was planned against.
    url: str | None = None
    changes: tuple[Change, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    drained: tuple[DrainedMember, ...] = ()
    observed: tuple[TouchedObject, ...] = ()
    managed: tuple[ManagedArray, ...] = ()

    def observed_state(self) -> ApplianceState:
        """The touched objects' state as read, as the simulator takes it."""
        return {t.key: t.state for t in self.observed if t.state is not None}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> Summary:
        """Counts of this appliance's changes."""
        counts: Counter[str] = Counter(change.action for change in self.changes)
        return Summary.model_validate({**counts, "conflicts": len(self.conflicts)})


class Plan(BaseModel):
    """A plan over every appliance, as printed, emitted as JSON and saved with ``--out``."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = PLAN_FORMAT_VERSION
    kind: Literal["lmctl-plan"] = PLAN_KIND
    lmctl_version: str
    created_at: datetime
    specs_digest: str
    spec_paths: tuple[str, ...] = ()
    # None: every array on the appliances; names: only these (spec files given; see ``scope``).
    scope: tuple[str, ...] | None = None
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


FailureKind = Literal["specs", "usage", "appliance", "read", "plan-file"]


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
