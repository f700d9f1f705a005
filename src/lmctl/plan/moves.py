"""Arrays moving to another appliance (``appliance:`` changed in the spec): one move, planned whole.

The plan deletes the array's marked VSs on the appliance it leaves and makes them on the one it
moves to. Apply orders the two across appliances: the deletes on the old appliance wait until
every other write of the new one is made, and are not made at all when one of those failed, so
the array keeps serving from somewhere throughout (``lmctl.apply.execute``). In the plan, the
deletes of a move come last on their appliance, in that write order.

An array moves from appliance A to B when the plan deletes its VSs on A and the array keeps VSs
on B once the plan is applied (made by this plan, or by an earlier apply that stopped before the
deletes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from lmctl.appliance.changes import Change, CreateVirtualService, DeleteVirtualService
from lmctl.plan.safety import ManagedArray


class PlannedAppliance(Protocol):
    """What a move is found from: one appliance's changes and what lmctl managed there."""

    @property
    def name(self) -> str: ...

    @property
    def changes(self) -> tuple[Change, ...]: ...

    @property
    def managed(self) -> tuple[ManagedArray, ...]: ...


class ApplianceMove(BaseModel):
    """An array leaving appliance ``source`` for the appliances ``destinations``."""

    model_config = ConfigDict(frozen=True)

    array: str
    source: str
    destinations: tuple[str, ...]


def _kept(appliance: PlannedAppliance) -> set[str]:
    """The arrays with VSs on the appliance once its changes are made."""
    count: Counter[str] = Counter({m.array: m.virtual_services for m in appliance.managed})
    for change in appliance.changes:
        if isinstance(change, CreateVirtualService):
            count[change.array] += 1
        elif isinstance(change, DeleteVirtualService):
            count[change.array] -= 1
    return {array for array, services in count.items() if services > 0}


def appliance_moves(appliances: Sequence[PlannedAppliance]) -> tuple[ApplianceMove, ...]:
    """Every array whose VSs the plan deletes on one appliance while it keeps VSs on another."""
    kept = {appliance.name: _kept(appliance) for appliance in appliances}
    moves = []
    for appliance in appliances:
        deleted = {c.array for c in appliance.changes if isinstance(c, DeleteVirtualService)}
        for array in sorted(deleted - kept[appliance.name]):
            destinations = tuple(
                other.name
                for other in appliances
                if other.name != appliance.name and array in kept[other.name]
            )
            if destinations:
                moves.append(
                    ApplianceMove(array=array, source=appliance.name, destinations=destinations)
                )
    return tuple(moves)


def moving_away(moves: Iterable[ApplianceMove], appliance: str) -> dict[str, tuple[str, ...]]:
    """The arrays leaving ``appliance``, each with the appliances it moves to."""
    return {move.array: move.destinations for move in moves if move.source == appliance}


def is_move_delete(change: Change, leaving: Iterable[str]) -> bool:
    """True for a delete of a VS of an array moving away (it waits for the new appliance)."""
    return isinstance(change, DeleteVirtualService) and change.array in set(leaving)


def move_deletes_last(
    changes: Sequence[Change], leaving: Iterable[str]
) -> tuple[tuple[Change, ...], tuple[Change, ...]]:
    """The changes split, each part in its order: those made at once, and the deletes of the
    arrays ``leaving`` (made once their new appliances hold them)."""
    names = set(leaving)
    now = tuple(c for c in changes if not is_move_delete(c, names))
    later = tuple(c for c in changes if is_move_delete(c, names))
    return now, later
