"""InSync as ``lmctl plan`` sees it: reconcile's own diff of one array, scoped to that array.

Status compares field by field to say *what* differs; this module makes sure it never calls an
array in sync while plan would still change it (a second VS with the service's marker, a marked
VS of a service the spec no longer has, anything else plan finds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lmctl.desired import DesiredVirtualService
from lmctl.reconcile.changes import DeleteVirtualService
from lmctl.reconcile.diff import diff
from lmctl.reconcile.render.outline import describe
from lmctl.reconcile.state import ApplianceState
from lmctl.reconcile.words import counted


@dataclass(frozen=True, slots=True)
class PendingChanges:
    """What plan would change for one array.

    ``duplicates``: per service of the spec, the other VSs that carry its marker (plan deletes
    them); ``leftovers``: (service, VS) marked for this array by a service the spec no longer
    has; ``changes``: every change, as plan words it.
    """

    duplicates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    leftovers: tuple[tuple[str, str], ...] = ()
    changes: tuple[str, ...] = ()


def deleted_virtual_service(change: DeleteVirtualService) -> str:
    """``10.0.0.99:443/tcp (NickName 'lmctl.hq.https', 2 real servers)``."""
    name = f"NickName {change.nickname!r}" if change.nickname else "no NickName"
    return f"{change.key} ({name}, {counted(change.real_servers, 'real server')})"


def pending_changes(
    array: str, desired: Sequence[DesiredVirtualService], state: ApplianceState
) -> PendingChanges:
    """Plan's diff of ``array`` alone (other arrays' VSs are out of its scope)."""
    changes = diff(desired, state, (array,)).changes
    wanted = {service.service for service in desired}
    duplicates: dict[str, list[str]] = {}
    leftovers: list[tuple[str, str]] = []
    for change in changes:
        if not isinstance(change, DeleteVirtualService):
            continue
        if change.service in wanted:
            duplicates.setdefault(change.service, []).append(deleted_virtual_service(change))
        else:
            leftovers.append((change.service, deleted_virtual_service(change)))
    return PendingChanges(
        duplicates={service: tuple(found) for service, found in duplicates.items()},
        leftovers=tuple(leftovers),
        changes=tuple(describe(change)[1] for change in changes),
    )
