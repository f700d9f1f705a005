"""A plan as an outline of signed lines, shared by the text and Markdown renderers.

appliance → array → service, each change with its sign (``+`` added, ``~`` changed, ``-``
removed, ``!`` attention: drained member, conflict) and, for updates, one line per field
(old → new).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from lmctl.loadmaster.models import MANAGED_VS_FIELDS, wire_name, wire_value
from lmctl.reconcile.changes import (
    AddRealServer,
    Change,
    Conflict,
    CreateVirtualService,
    DeleteVirtualService,
    DrainedMember,
    FieldChange,
    RemoveRealServer,
    UpdateRealServer,
    UpdateVirtualService,
    final_key,
    member_label,
)
from lmctl.reconcile.plan import AppliancePlan, Plan
from lmctl.reconcile.words import counted

Sign = Literal["+", "~", "-", "!", " "]


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the outline: its depth, its sign and its text."""

    depth: int
    sign: Sign
    text: str


def shown(value: object) -> str:
    """A value as an admin reads it on the appliance: flags Y/N, unset as ``(unset)``."""
    return "(unset)" if value is None else wire_value(value)


def _field_lines(fields: tuple[FieldChange, ...], depth: int) -> list[Line]:
    return [Line(depth, "~", f"{f.label}: {shown(f.old)} → {shown(f.new)}") for f in fields]


def describe(change: Change) -> tuple[Sign, str]:
    """The sign and headline of one change."""
    if isinstance(change, CreateVirtualService):
        return "+", f"create virtual service {change.key}"
    if isinstance(change, UpdateVirtualService):
        if change.new_key is not None:
            return "~", f"move virtual service {change.key} → {change.new_key}"
        return "~", f"update virtual service {change.key}"
    if isinstance(change, DeleteVirtualService):
        name = change.nickname or "no NickName"
        members = counted(change.real_servers, "real server")
        return "-", f"delete virtual service {change.key} ({name}, {members})"
    if isinstance(change, AddRealServer):
        state = "enabled" if change.enable else "disabled"
        return "+", (
            f"add real server {member_label(change)} "
            f"(weight {change.weight}, forward {change.forward}, {state})"
        )
    if isinstance(change, UpdateRealServer):
        return "~", f"change real server {member_label(change)}"
    assert isinstance(change, RemoveRealServer)
    return "-", f"remove real server {member_label(change)}"


def _change_lines(change: Change, depth: int) -> list[Line]:
    sign, text = describe(change)
    lines = [Line(depth, sign, text)]
    if isinstance(change, UpdateVirtualService | UpdateRealServer):
        lines += _field_lines(change.fields, depth + 2)
    elif isinstance(change, CreateVirtualService):
        lines += [
            Line(depth + 2, "+", f"{wire_name(name)}: {shown(getattr(change.settings, name))}")
            for name in MANAGED_VS_FIELDS
        ]
    return lines


def _drained_line(drained: DrainedMember, depth: int) -> Line:
    return Line(
        depth,
        "!",
        f"drained: {drained.member} {drained.address}:{drained.port} is disabled on the "
        "appliance and stays disabled (the spec does not set enable)",
    )


def _conflict_line(conflict: Conflict, depth: int) -> Line:
    return Line(depth, "!", f"conflict: {conflict.message}")


Item = Change | Conflict | DrainedMember


def _services(plan: AppliancePlan) -> dict[tuple[str, str], list[Item]]:
    grouped: dict[tuple[str, str], list[Item]] = {}
    items: list[Item] = [*plan.conflicts, *plan.changes, *plan.drained]
    for item in items:
        grouped.setdefault((item.array, item.service), []).append(item)
    return dict(sorted(grouped.items()))


def _service_key(items: list[Item]) -> str:
    changes = [item for item in items if not isinstance(item, Conflict | DrainedMember)]
    return str(final_key(changes[0]) if changes else items[0].key)


def appliance_lines(plan: AppliancePlan) -> Iterator[Line]:
    """The outline of one appliance's plan (nothing when it needs nothing)."""
    array = None
    for (array_name, service), items in _services(plan).items():
        if array_name != array:
            array = array_name
            yield Line(1, " ", f"array {array_name}")
        yield Line(2, " ", f"service {service} ({_service_key(items)})")
        for item in items:
            if isinstance(item, Conflict):
                yield _conflict_line(item, 3)
            elif isinstance(item, DrainedMember):
                yield _drained_line(item, 3)
            else:
                yield from _change_lines(item, 3)


def blocks_heading(force: bool) -> str:
    """The heading over the safety rules a plan breaks, true to whether --force was given."""
    if force:
        return "Safety rules broken (allowed by --force)"
    return "Blocked by safety rules (apply needs --force)"


def conflicts_note(plan: Plan) -> str:
    """Why a plan with conflicts cannot be applied, whatever the flags."""
    count = counted(len(plan.conflicts), "conflict")
    return (
        f"{count}: nothing can be applied until each is resolved "
        "(a conflict is never overridden, not even by --force)"
    )
