"""Make-before-break order: the sequence in which one appliance's changes are written.

Per array: create virtual services, move them, add new members, update settings (enabling a
member before disabling another), remove old members. Arrays follow one another in name order;
within a phase the order is stable (service, key, member). Virtual services are deleted last of
all, after every array's other writes: an array renamed and moved to a new VIP is served by its
new VSs before the old ones go, whatever the two names' order.
"""

from __future__ import annotations

from collections.abc import Iterable

from lmctl.reconcile.changes import (
    AddRealServer,
    Change,
    CreateVirtualService,
    DeleteVirtualService,
    RemoveRealServer,
    UpdateRealServer,
    UpdateVirtualService,
)

PHASES: tuple[str, ...] = (
    "create virtual services",
    "move virtual services",
    "add real servers",
    "update virtual services, enable real servers",
    "update real servers",
    "disable real servers",
    "remove real servers",
    "delete virtual services",
)


def _enable_change(change: UpdateRealServer) -> bool | None:
    for field in change.fields:
        if field.field == "enable":
            return bool(field.new)
    return None


def phase(change: Change) -> int:
    """The position of a change's kind in make-before-break order (index into ``PHASES``)."""
    if isinstance(change, CreateVirtualService):
        return 0
    if isinstance(change, UpdateVirtualService):
        return 1 if change.new_key is not None else 3
    if isinstance(change, AddRealServer):
        return 2
    if isinstance(change, UpdateRealServer):
        enable = _enable_change(change)
        return 3 if enable is True else 5 if enable is False else 4
    if isinstance(change, RemoveRealServer):
        return 6
    assert isinstance(change, DeleteVirtualService)
    return 7


def _member(change: Change) -> tuple[str, int]:
    if isinstance(change, AddRealServer | UpdateRealServer | RemoveRealServer):
        return (change.address, change.port)
    return ("", 0)


def sort_key(change: Change) -> tuple[bool, str, int, str, str, tuple[str, int]]:
    """Stable execution order: deletions of VSs last, then array, phase, service, key, member."""
    deletes_vs = isinstance(change, DeleteVirtualService)
    return (
        deletes_vs,
        change.array,
        phase(change),
        change.service,
        str(change.key),
        _member(change),
    )


def in_write_order(changes: Iterable[Change]) -> tuple[Change, ...]:
    """The changes sorted into make-before-break order."""
    return tuple(sorted(changes, key=sort_key))
