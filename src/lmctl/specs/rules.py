"""Validation of a whole set of specs: every rule of the table in ``docs/specs.md``.

Per-array rules (``array_rules``) look at one spec; set rules (``set_rules``) compare every array
with every other (sites, servers, VIPs and ports, FQDNs, appliances).
"""

from __future__ import annotations

from collections.abc import Sequence

from lmctl.specs.array_rules import ARRAY_RULES
from lmctl.specs.diagnostics import Diagnostic
from lmctl.specs.inventory import Inventory
from lmctl.specs.set_rules import SET_RULES, appliance_known
from lmctl.specs.sourced import SourcedArray

__all__ = ["SourcedArray", "check_specs"]


def check_specs(
    arrays: Sequence[SourcedArray],
    inventory: Inventory | None,
    inventory_file: str | None,
    *,
    check_appliances: bool = True,
) -> list[Diagnostic]:
    """Every diagnostic of every rule, for the arrays and inventory that parsed.

    ``check_appliances`` False skips "the appliance is in the inventory" (when the inventory
    itself failed to load, its own errors say what to fix).
    """
    found: list[Diagnostic] = []
    for array in arrays:
        for rule in ARRAY_RULES:
            found.extend(rule(array))
    for set_rule in SET_RULES:
        found.extend(set_rule(arrays))
    if check_appliances:
        found.extend(appliance_known(arrays, inventory, inventory_file))
    return found
