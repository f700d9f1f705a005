"""Whose objects a saved plan writes (``lmctl apply FILE``): every change checked against the
appliance as it is read when the plan is applied, never against the plan's own record.

A saved plan's ``observed`` is its own claim, and a hand-edited plan can record a foreign VS as
lmctl's (and pass the stale check by recording what the appliance holds now). So before any
write (``not_owned``): a VS, SubVS or content rule a change writes must carry the marker of the
change's own array and service; a VS it creates, or moves to, needs its key free; an adoption
needs an unmarked VS at a key the specs want for that service, and a re-mark is a rename only
as plan makes one; what a plan adopts or re-marks it never deletes nor moves away; no change
touches a VS that holds or shares what lmctl does not own exactly (``clashes``), nor a content
rule assigned elsewhere. Adoptions are a waiver a plan file does not carry: ``apply FILE`` is
given ``--adopt ARRAY`` again for each (``unconsented``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import assert_never

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
    UnassignContentRule,
    UpdateContentRule,
    UpdateRealServer,
    UpdateSubService,
    UpdateVirtualService,
    write_label,
)
from lmctl.appliance.state import (
    ApplianceState,
    ContentRuleState,
    Owner,
    VirtualServiceState,
    sub_service_owner,
)
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.plan.document import Plan
from lmctl.plan.simulate import SimulationError, apply_change
from lmctl.text import quoted_name


@dataclass(frozen=True, slots=True)
class NotOwned:
    """One change of a saved plan that the appliance, as read now, does not allow: which
    appliance, which write (its key and the array/service it names), what was found there."""

    appliance: str
    write: str
    found: str

    def __str__(self) -> str:
        return f"{self.appliance}: {self.write}: {self.found}"


def not_owned(
    plan: Plan,
    found: Mapping[str, ApplianceState],
    wanted: Mapping[str, Iterable[DesiredVirtualService]],
) -> list[NotOwned]:
    """Every change of ``plan`` that would write to what its array and service do not own on
    the appliances as ``found`` now (empty: every write is to the change's own objects).

    A saved plan's ``observed`` is its own claim, and can be edited to pass for what the
    appliance holds, so it is not consulted: the changes run, in order, on the state read now,
    each checked against what the changes before it leave (a VS the plan creates or adopts is
    its array's for the writes after; one it re-marks, a renamed array's, for every write of
    the plan). ``wanted``: per appliance, the services the specs want now, the only keys an
    adoption may take (what cannot be told from a plan file: whether its array was adopting
    when it was planned; an edited plan may adopt no other VS than the one ``plan --adopt``
    would, and ``apply FILE`` asks for ``--adopt`` again: ``unconsented``). A VS the plan
    adopts is never deleted nor moved away by it; a VS that holds or shares what lmctl does
    not own exactly (``clashes``: a plan makes it a conflict and writes nothing to it), and a
    content rule assigned elsewhere, take no write at all."""
    problems: list[NotOwned] = []
    for appliance in plan.appliances:
        here = _Walk.of(found[appliance.name], appliance.changes, wanted.get(appliance.name, ()))
        for change in appliance.changes:
            problem = _ownership(change, here) or _clash(change, here)
            if problem is None:
                try:
                    apply_change(here.state, change)
                except SimulationError as error:
                    problem = f"cannot run on what the appliance holds now ({error})"
                else:
                    here.read[change.final_key] = here.read.pop(change.key, None)
                    if isinstance(change, AdoptVirtualService):
                        here.adopted.add(change.key)
                    continue
            problems.append(NotOwned(appliance.name, _write(change), problem))
    return problems


def unconsented(plan: Plan, adopt: Collection[str]) -> list[tuple[str, AdoptVirtualService]]:
    """Each adoption of ``plan`` whose array is not among ``adopt`` (``apply FILE --adopt
    ARRAY``), with its appliance's name: an adoption takes over a VS lmctl does not own, a
    waiver that a plan file does not carry."""
    return [
        (appliance.name, change)
        for appliance in plan.appliances
        for change in appliance.changes
        if isinstance(change, AdoptVirtualService) and change.array not in adopt
    ]


def _write(change: Change) -> str:
    """The write as apply names it, with the VS it acts on (a content rule's parent too)."""
    if isinstance(change, CreateContentRule | UpdateContentRule | DeleteContentRule):
        return f"{change.command} {change.rule} of {change.key} ({change.owner_label})"
    return write_label(change)


@dataclass(frozen=True, slots=True)
class _Walk:
    """One appliance as a saved plan's changes leave it, and what the plan may claim there."""

    # The state read now, as the changes checked so far leave it.
    state: ApplianceState
    # Whose marker each VS carried when read (its SubVSs and rules are that owner's), by key as
    # the changes move it: a renamed array's parent is re-marked, then its old SubVSs go.
    read: dict[VirtualServiceKey, Owner | None]
    # The VSs the plan re-marks as another array's (a rename), by key: a re-mark runs after
    # the members are added (``Phase``), and they are the new array's writes.
    remarked: dict[VirtualServiceKey, Owner]
    # (array, service, key) of each service the specs want now: what may be adopted.
    wants: frozenset[tuple[str, str, VirtualServiceKey]]
    # The keys the plan re-marks (a rename keeps its VS where the specs want it) and those the
    # changes checked so far adopted: no change deletes or moves them.
    adopted: set[VirtualServiceKey]

    @classmethod
    def of(
        cls,
        found: ApplianceState,
        changes: Iterable[Change],
        wanted: Iterable[DesiredVirtualService],
    ) -> _Walk:
        wanted = list(wanted)
        wants = frozenset((d.array, d.service, d.key) for d in wanted)
        arrays = {d.array for d in wanted}
        # A re-mark is a rename only as plan makes one: the specs want the new array's service
        # at that key, and the VS's array as read has left them (else an edited plan could
        # re-mark another array's VS as an invented array's, then delete it).
        remarked = {
            change.key: Owner(change.array, change.service)
            for change in changes
            if isinstance(change, UpdateVirtualService)
            and _written(change.fields) == Owner(change.array, change.service).marker()
            and (change.array, change.service, change.key) in wants
            and _read_array(found, change.key) not in arrays
        }
        return cls(
            state=dict(found),
            read={key: vs.owner for key, vs in found.items()},
            remarked=remarked,
            wants=wants,
            adopted=set(remarked),
        )


def _read_array(found: ApplianceState, key: VirtualServiceKey) -> str | None:
    vs = found.get(key)
    return None if vs is None or vs.owner is None else vs.owner.array


def _ownership(change: Change, here: _Walk) -> str | None:
    """Why ``change`` may not run where ``here`` stands (None: it may)."""
    owner = Owner(change.array, change.service)
    marker = owner.marker()
    held = _held(here, change.key, owner)
    # A SubVS or a rule of the parent's owner as read (a rename re-marks the parent).
    read = here.read.get(change.key)
    owners = {owner} if read is None else {owner, read}
    match change:
        case CreateVirtualService():
            return _taken(here, change.key) or _marks(marker, change.settings.nickname)
        case AdoptVirtualService():
            return _adoptable(here, change) or _marks(marker, _written(change.fields))
        case UpdateVirtualService():
            marks = _marks(marker, _written(change.fields)) if change.remarks else None
            if change.new_key is None:
                return held or marks
            return held or marks or _kept(here, change.key, "moves") or _taken(here, change.new_key)
        case DeleteVirtualService():
            return held or _kept(here, change.key, "deletes")
        case AddRealServer() | UpdateRealServer() | RemoveRealServer():
            if held is None and change.sub_service is not None:
                return _carries(change.sub_service, owners, "SubVS")
            return held
        case CreateSubService():
            return (
                held
                or _carries(change.sub_service, {owner}, "SubVS")
                or _marks(change.sub_service, change.settings.nickname)
            )
        case UpdateSubService():
            return (
                held
                or _carries(change.sub_service, owners, "SubVS")
                or _marks(change.sub_service, _written(change.fields, change.sub_service))
            )
        case DeleteSubService():
            return held or _carries(change.sub_service, owners, "SubVS")
        case CreateContentRule() | UpdateContentRule() | DeleteContentRule():
            return held or _carries(change.rule, owners, "content rule")
        case AssignContentRule():
            return (
                held
                or _carries(change.sub_service, owners, "SubVS")
                or _carries(change.rule, owners, "content rule")
            )
        case UnassignContentRule():
            # The write is to the SubVS's row, which is lmctl's: any rule comes off it (plan
            # takes an admin's rule off too); the rule itself is not touched.
            return held or _carries(change.sub_service, owners, "SubVS")
        case _:
            assert_never(change)


def _held(here: _Walk, key: VirtualServiceKey, owner: Owner) -> str | None:
    """Why the VS at ``key`` is not ``owner``'s (None: it is): it carries ``owner``'s marker,
    or another of lmctl's that the plan re-marks as ``owner``'s."""
    vs = here.state.get(key)
    if vs is None:
        return f"no virtual service at {key}"
    if vs.is_ambiguous:
        indexes = ", ".join(map(str, vs.duplicate_indexes))
        return f"{key} is listed {len(vs.duplicate_indexes)} times (Index {indexes}): nobody's"
    if vs.owner == owner or (vs.owner is not None and here.remarked.get(key) == owner):
        return None
    return f"found {vs.describe()}, not the marker {quoted_name(owner.marker())}"


def _kept(here: _Walk, key: VirtualServiceKey, does: str) -> str | None:
    """Why the VS at ``key`` may not be deleted or moved away (None: it may): the plan adopted
    it, and an adoption is of a VS at a key the specs want, to keep it there."""
    if key not in here.adopted:
        return None
    how, what = ("re-marks", "a re-marked") if key in here.remarked else ("adopts", "an adopted")
    return f"the plan {how} {key} and then {does} it: {what} VS stays where the specs want it"


def _clash(change: Change, here: _Walk) -> str | None:
    """Why ``change`` may not touch what it does (None: it may): the VS it acts on holds or
    shares what lmctl does not own exactly (a plan makes that a conflict and writes nothing to
    the VS, its deletion included), or the content rule it makes, changes or deletes is
    assigned elsewhere."""
    match change:
        case CreateVirtualService():
            return None  # its key is free (``_taken``)
        case CreateContentRule() | UpdateContentRule() | DeleteContentRule():
            return _clashing(here.state.get(change.key)) or _shared(here, change.rule)
        case (
            AdoptVirtualService()
            | UpdateVirtualService()
            | DeleteVirtualService()
            | AddRealServer()
            | UpdateRealServer()
            | RemoveRealServer()
            | CreateSubService()
            | UpdateSubService()
            | DeleteSubService()
            | AssignContentRule()
            | UnassignContentRule()
        ):
            return _clashing(here.state.get(change.key))
        case _:
            assert_never(change)


def _clashing(vs: VirtualServiceState | None) -> str | None:
    """The clashes of ``vs``, in their own words (None: none, or no VS)."""
    clashes = () if vs is None else vs.clashes()
    if not clashes:
        return None
    assert vs is not None
    details = "; ".join(clash.detail for clash in clashes)
    return f"{vs.describe()} holds or shares what lmctl does not own exactly: {details}"


def _shared(here: _Walk, name: str) -> str | None:
    """Why the content rule ``name`` may not be written (None: it may): wherever it is read, it
    is assigned elsewhere too (``delrule`` or ``modrule`` would change it there)."""
    for vs in here.state.values():
        rule = vs.content_rule(name)
        if rule is not None and rule.assigned_elsewhere:
            return _clashing(_with_rule_only(vs, rule))
    return None


def _with_rule_only(vs: VirtualServiceState, rule: ContentRuleState) -> VirtualServiceState:
    """``vs`` holding ``rule`` and nothing else lmctl could clash over (its clash, alone)."""
    return replace(vs, sub_vs=(), foreign_sub_vs=(), content_rules=(rule,))


def _taken(here: _Walk, key: VirtualServiceKey) -> str | None:
    """Why a VS cannot be made at ``key`` (None: the key is free)."""
    vs = here.state.get(key)
    return None if vs is None else f"the key is taken: found {vs.describe()}"


def _adoptable(here: _Walk, change: AdoptVirtualService) -> str | None:
    """Why the VS at the adoption's key may not be adopted (None: it may): as ``plan`` adopts,
    only an unmarked VS without SubVSs, listed once, at a key the specs want for the service."""
    vs = here.state.get(change.key)
    if vs is None:
        return f"no virtual service at {change.key}"
    if vs.is_ambiguous:
        return _held(here, change.key, Owner(change.array, change.service))
    if vs.owner is not None:
        return f"found {vs.describe()}: already lmctl's"
    if vs.sub_services:
        return f"found {vs.describe()}, which holds SubVSs: never adopted"
    if (change.array, change.service, change.key) not in here.wants:
        return (
            f"found {vs.describe()}; the specs now want no {change.owner_label} there, and "
            "lmctl adopts only what they want"
        )
    return None


def _written(fields: Iterable[FieldChange], default: str | None = None) -> str | None:
    """The NickName ``fields`` write (``default`` when they write none)."""
    new = next((f.new for f in fields if f.field == "nickname"), default)
    return None if new is None else str(new)


def _marks(marker: str, nickname: str | None) -> str | None:
    """Why a VS or SubVS given ``nickname`` would not carry ``marker`` (None: it would)."""
    if nickname == marker:
        return None
    shown = "no NickName" if nickname is None else f"NickName {quoted_name(nickname)}"
    return f"it would write {shown}, not the marker {quoted_name(marker)}"


def _carries(name: str, owners: Collection[Owner], what: str) -> str | None:
    """Why the SubVS or content rule ``name`` is not one of ``owners``' (None: it is)."""
    if sub_service_owner(name) in owners:
        return None
    mine = " or ".join(sorted(f"{o.array}/{o.service}" for o in owners)) or "an array"
    return f"{what} {quoted_name(name)} carries no SubVS marker of {mine}"
