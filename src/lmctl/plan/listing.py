"""``lmctl ls``: every virtual service of an appliance, and whose it is.

The categories come from the one matcher (``lmctl.plan.match``), so what ``ls`` says is what
``plan`` does:
- ``lmctl``: it carries lmctl's marker (its array and service are the marker's); the note says
  when the next plan deletes it (its array or service left the specs) or re-marks it;
- ``adoptable``: no marker, on exactly a key a spec wants: a conflict until that array adopts it
  (``adopt: true`` or ``--adopt ARRAY``), then the next plan takes it over;
- ``conflicting``: a marked VS of another array that stays in the specs, or an unmarked VS with
  SubVSs, holds a key a spec wants; or lmctl cannot tell VSs apart (a key listed twice, a
  service's marker on several VSs none at its key): no flag takes it over;
- ``foreign``: no marker and no spec wants its key: lmctl never touches it.
SubVSs have no address of their own and go with their parent, so they are not listed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field

from lmctl import __version__
from lmctl.appliance.state import ApplianceState, VirtualServiceState
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.plan.match import (
    ApplianceMatch,
    ArrayScope,
    Conflict,
    listed_more_than_once,
    match_appliance,
)
from lmctl.specs.loader import SCHEMA_DIALECT

LISTING_FORMAT_VERSION: Literal[1] = 1
LISTING_KIND: Literal["lmctl-ls"] = "lmctl-ls"

Category = Literal["lmctl", "adoptable", "conflicting", "foreign"]
CATEGORIES: tuple[Category, ...] = ("lmctl", "adoptable", "conflicting", "foreign")


class ListedService(BaseModel):
    """One virtual service of an appliance: its key, its NickName and whose it is."""

    model_config = ConfigDict(frozen=True)

    key: VirtualServiceKey
    index: int | None = None
    nickname: str | None = None
    category: Category
    # lmctl: the marker's owner; adoptable and conflicting: the array/service that wants the key.
    array: str | None = None
    service: str | None = None
    real_servers: int = 0
    note: str = ""


class ApplianceListing(BaseModel):
    """The virtual services of one appliance, in key order."""

    model_config = ConfigDict(frozen=True)

    name: str
    virtual_services: tuple[ListedService, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """How many virtual services fall in each category."""
        return {
            category: sum(1 for vs in self.virtual_services if vs.category == category)
            for category in CATEGORIES
        }


class LeftOutSpec(BaseModel):
    """An array spec file ``ls`` did not read for its errors, and its first error."""

    model_config = ConfigDict(frozen=True)

    file: str
    error: str


class Listing(BaseModel):
    """What ``lmctl ls --format json`` prints (schema: ``lmctl schema --kind ls``)."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = LISTING_FORMAT_VERSION
    kind: Literal["lmctl-ls"] = LISTING_KIND
    lmctl_version: str = __version__
    appliances: tuple[ApplianceListing, ...] = ()
    # Array spec files with errors, listed as if they were not in the specs.
    left_out: tuple[LeftOutSpec, ...] = ()


def _listed(vs: VirtualServiceState, category: Category, note: str = "") -> ListedService:
    owner = vs.owner
    return ListedService(
        key=vs.key,
        index=vs.index,
        nickname=vs.settings.nickname,
        category=category,
        array=owner.array if owner is not None else None,
        service=owner.service if owner is not None else None,
        real_servers=len(vs.real_servers),
        note=note,
    )


def _wanted_by(listed: ListedService, array: str, service: str) -> ListedService:
    return listed.model_copy(update={"array": array, "service": service})


def categorise(match: ApplianceMatch, state: ApplianceState) -> tuple[ListedService, ...]:
    """Every VS of ``state`` in one category, from the matches of its desired services."""
    found: dict[VirtualServiceKey, ListedService] = {}
    for _, vs in match.unclaimed:
        found[vs.key] = _listed(vs, "lmctl", "not in the specs: the next plan deletes it")
    for refused in match.unclaimed_conflicts:
        found[refused.key] = _listed(state[refused.key], "conflicting", refused.message)
    for service in match.services:
        want, current, conflict = service.desired, service.current, service.conflict
        if conflict is not None and conflict.marker_keys:
            # The service's marker on several VSs, none at its key: each is conflicting.
            for key in conflict.marker_keys:
                found[key] = _listed(state[key], "conflicting", conflict.ambiguity() or "")
        elif conflict is not None:
            holder = state[conflict.key]
            category, note = _conflict_entry(holder, want, conflict)
            found[holder.key] = _wanted_by(_listed(holder, category, note), *_owned(want))
        if current is None or current.key in found:
            continue
        if current.owner is None:
            note = f"the next plan adopts it for {want.array}/{want.service}"
            found[current.key] = _wanted_by(_listed(current, "adoptable", note), *_owned(want))
        elif current.owner != want.owner:
            note = f"the next plan re-marks it as {want.array}/{want.service}"
            found[current.key] = _listed(current, "lmctl", note)
        elif current.key != want.key and conflict is not None:
            # Its key is held by another VS: plan moves nothing (a conflict), and an adoption of
            # that VS makes this one a duplicate of the array's, which plan deletes.
            note = (
                f"{want.key} is held by another VS (a conflict): the next plan leaves this one; "
                f"once {want.array} adopts that VS, the plan deletes this one"
            )
            found[current.key] = _listed(current, "lmctl", note)
        elif current.key != want.key:
            found[current.key] = _listed(current, "lmctl", f"the next plan moves it to {want.key}")
        else:
            found[current.key] = _listed(current, "lmctl")
    for key, vs in state.items():
        if key not in found:
            found[key] = _listed(vs, "lmctl" if vs.owner is not None else "foreign")
    # At one address, the services the specs want in the specs' (profile) order, as plan, status
    # and show list them; any other VS after them, by port.
    order = {_owned(service.desired): i for i, service in enumerate(match.services)}

    def listed_order(key: VirtualServiceKey) -> tuple[str, int, str, str]:
        entry = found[key]
        rank = order.get((entry.array or "", entry.service or ""), len(order))
        return (key.address, rank, key.port.rjust(5), key.protocol)

    return tuple(
        row for key in sorted(found, key=listed_order) for row in _rows(found[key], state[key])
    )


def _rows(listed: ListedService, vs: VirtualServiceState) -> tuple[ListedService, ...]:
    """One row per VS the appliance lists at the key: a key listed more than once is
    ``conflicting`` whether a spec wants it or not (lmctl cannot tell those VSs apart)."""
    if not vs.is_ambiguous:
        return (listed,)
    note = listed_more_than_once(vs.key, vs.duplicate_indexes)
    if listed.category == "conflicting" and listed.note:
        note = listed.note
    nicknames = vs.duplicate_nicknames or (vs.settings.nickname,) * len(vs.duplicate_indexes)
    return tuple(
        listed.model_copy(
            update={
                "index": index,
                "nickname": nickname,
                "category": "conflicting",
                "note": note,
            }
        )
        for index, nickname in zip(vs.duplicate_indexes, nicknames, strict=False)
    )


def _conflict_entry(
    holder: VirtualServiceState, want: DesiredVirtualService, conflict: Conflict
) -> tuple[Category, str]:
    """An unmarked VS is adoptable unless it has SubVSs or its key is listed more than once;
    another array's, or the array's own holding what lmctl does not own, is conflicting."""
    if conflict.sub_service_clashes:
        return "conflicting", "; ".join(clash.detail for clash in conflict.sub_service_clashes)
    ambiguity = conflict.ambiguity()
    if ambiguity is not None:
        return "conflicting", ambiguity
    if conflict.holder_array is not None:
        return "conflicting", f"held by array {conflict.holder_array}, wanted by {want.array}"
    if holder.sub_services:
        return "conflicting", (
            f"wanted by {want.array}/{want.service}, but it has SubVSs: lmctl never adopts it"
        )
    return "adoptable", (
        f"wanted by {want.array}/{want.service}: a conflict until the array adopts it "
        "(adopt: true or --adopt)"
    )


def _owned(want: DesiredVirtualService) -> tuple[str, str]:
    return want.array, want.service


def key_order(key: VirtualServiceKey) -> tuple[str, str, str]:
    """VSs by address, then port as a number (``*`` first), then protocol."""
    return (key.address, key.port.rjust(5), key.protocol)


def list_appliance(
    name: str,
    desired: Sequence[DesiredVirtualService],
    state: ApplianceState,
    scope: ArrayScope = None,
    adopting: Collection[str] = (),
) -> ApplianceListing:
    """The listing of one appliance, through the same match a plan makes."""
    match = match_appliance(desired, state, scope, adopting)
    return ApplianceListing(name=name, virtual_services=categorise(match, state))


def make_listing(
    desired: Mapping[str, Sequence[DesiredVirtualService]],
    observed: Mapping[str, ApplianceState],
    scope: ArrayScope = None,
    adopting: Collection[str] = (),
) -> Listing:
    """The listing of every observed appliance, in name order."""
    return Listing(
        appliances=tuple(
            list_appliance(name, desired.get(name, ()), observed[name], scope, adopting)
            for name in sorted(observed)
        )
    )


LISTING_SCHEMA_TITLE = "lmctl ls document (ls --format json), format_version 1"


def listing_json_schema() -> dict[str, Any]:
    """The schema of ``lmctl ls --format json`` (committed as ``docs/schema/ls.schema.json``)."""
    schema = Listing.model_json_schema(mode="serialization")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": LISTING_SCHEMA_TITLE}
