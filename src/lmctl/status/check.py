"""Checking arrays: which ones, reading their appliances, and matching each appliance once.

Each appliance is read with two calls (its state, then its connection counts), all appliances at
once; it is matched once with every service the specs want on it, in the scope plan would use
for the same spec paths (``lmctl.plan.match.plan_scope``), and the selected arrays' statuses are
taken from that one match. An appliance that cannot be opened or read makes its arrays' conditions
Unknown; the others are still checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

from lmctl.appliance.base import Appliance
from lmctl.appliance.state import ApplianceState, Connections
from lmctl.errors import LmctlError, error_text
from lmctl.exchange import DesiredVirtualService
from lmctl.plan.match import ArrayScope, match_appliance
from lmctl.status.conditions import array_status, marked_elsewhere, unreadable_array_status
from lmctl.status.model import ArrayStatus
from lmctl.text import no_array_named


class UnknownArrayError(LmctlError, LookupError):
    """An array named on the command line is not in the specs."""


def select_arrays(
    desired: Mapping[str, Sequence[DesiredVirtualService]], names: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """The arrays to check per appliance, in spec order: the named ones (every one when none is
    named). Appliances left with no array are dropped, so they are not read at all."""
    wanted = set(names)
    known = {service.array for services in desired.values() for service in services}
    unknown = sorted(wanted - known)
    if unknown:
        raise UnknownArrayError(no_array_named(unknown, known))
    selected: dict[str, tuple[str, ...]] = {}
    for appliance, services in desired.items():
        arrays = dict.fromkeys(s.array for s in services if not wanted or s.array in wanted)
        if arrays:
            selected[appliance] = tuple(arrays)
    return selected


async def read_appliance(appliance: Appliance) -> tuple[ApplianceState, Connections]:
    """The appliance's state and connection counts: exactly two reads.

    One after the other, not together: on an ``auto`` dialect the first call settles the
    dialect, so two concurrent first calls could both probe and double the call count.
    """
    state = await appliance.observe()
    return state, await appliance.connections()


async def read_arrays(
    appliance: Appliance,
    desired: Sequence[DesiredVirtualService],
    arrays: Sequence[str],
    scope: ArrayScope,
) -> list[ArrayStatus]:
    """The status of ``arrays`` on one appliance, whose desired services are ``desired`` (every
    array's: the appliance is matched as plan matches it). Raises what the appliance raises."""
    return (await _read_arrays(appliance, desired, arrays, scope))[0]


async def _read_arrays(
    appliance: Appliance,
    desired: Sequence[DesiredVirtualService],
    arrays: Sequence[str],
    scope: ArrayScope,
) -> tuple[list[ArrayStatus], ApplianceState]:
    state, connections = await read_appliance(appliance)
    match = match_appliance(desired, state, scope)
    return [array_status(array, appliance.name, match, connections) for array in arrays], state


async def _appliance_status(
    name: str,
    appliance: Appliance | None,
    desired: Sequence[DesiredVirtualService],
    arrays: Sequence[str],
    scope: ArrayScope,
    unavailable: str,
) -> tuple[list[ArrayStatus], ApplianceState | None]:
    if appliance is None:
        return [unreadable_array_status(array, name, unavailable) for array in arrays], None
    try:
        return await _read_arrays(appliance, desired, arrays, scope)
    except (LmctlError, OSError) as error:
        return [unreadable_array_status(array, name, error_text(error)) for array in arrays], None


async def _observe(appliance: Appliance) -> ApplianceState | None:
    """An appliance no selected array is on, read (one call) for the marked VSs of arrays that
    left it; None when it cannot be read (its arrays' own checks say nothing of it)."""
    try:
        return await appliance.observe()
    except (LmctlError, OSError):
        return None


async def check_arrays(
    appliances: Mapping[str, Appliance],
    desired: Mapping[str, Sequence[DesiredVirtualService]],
    selected: Mapping[str, Sequence[str]],
    scope: ArrayScope = None,
    unavailable: Mapping[str, str] | None = None,
) -> list[ArrayStatus]:
    """Every selected array's status (``select_arrays``), all appliances read concurrently, in
    the order of ``selected``.

    ``unavailable`` gives, per appliance that could not be opened, why (e.g. a missing secret).
    The appliances in ``appliances`` that no selected array is on are read too (one ``listvs``
    each): an array whose marked VSs are also on one of them (it moved there from, or was
    restored there) is not ``InSync`` (``marked_elsewhere``).
    """
    reasons = unavailable or {}
    others = [name for name in appliances if name not in selected]
    per_appliance, other_states = await asyncio.gather(
        _selected_statuses(appliances, desired, selected, scope, reasons),
        asyncio.gather(*(_observe(appliances[name]) for name in others)),
    )
    found = {name: state for name, (_, state) in zip(selected, per_appliance, strict=True) if state}
    found |= {name: state for name, state in zip(others, other_states, strict=True) if state}
    return [marked_elsewhere(status, found) for statuses, _ in per_appliance for status in statuses]


async def _selected_statuses(
    appliances: Mapping[str, Appliance],
    desired: Mapping[str, Sequence[DesiredVirtualService]],
    selected: Mapping[str, Sequence[str]],
    scope: ArrayScope,
    reasons: Mapping[str, str],
) -> list[tuple[list[ArrayStatus], ApplianceState | None]]:
    return await asyncio.gather(
        *(
            _appliance_status(
                name,
                appliances.get(name),
                desired.get(name, ()),
                arrays,
                scope,
                reasons.get(name, "no connection to it could be opened"),
            )
            for name, arrays in selected.items()
        )
    )
