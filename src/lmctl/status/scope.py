"""Which arrays a ``status`` run covers: all of them, or the ones named on the command line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from lmctl.errors import LmctlError
from lmctl.exchange import DesiredVirtualService


class UnknownArrayError(LmctlError, LookupError):
    """An array named on the command line is not in the specs."""


def select_arrays(
    desired: Mapping[str, Sequence[DesiredVirtualService]], names: Iterable[str]
) -> dict[str, tuple[DesiredVirtualService, ...]]:
    """The desired services per appliance, limited to the named arrays (all when none named).

    Appliances left with no array are dropped, so they are not read at all.
    """
    wanted = set(names)
    known = {service.array for services in desired.values() for service in services}
    unknown = sorted(wanted - known)
    if unknown:
        raise UnknownArrayError(
            f"no array named {', '.join(unknown)} in the specs; "
            f"arrays: {', '.join(sorted(known)) or 'none'}"
        )
    selected: dict[str, tuple[DesiredVirtualService, ...]] = {}
    for appliance, services in desired.items():
        kept = tuple(s for s in services if not wanted or s.array in wanted)
        if kept:
            selected[appliance] = kept
    return selected
