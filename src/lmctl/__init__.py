"""lmctl: Exchange client access on Kemp LoadMaster appliances, as code.

The flow, module by module:

- ``lmctl.specs``: array specs and the appliance inventory (YAML) → validated models.
- ``lmctl.releases``: the table of Exchange releases (services, ports, profiles per version).
- ``lmctl.exchange``: expansion of an array into desired virtual services.
- ``lmctl.loadmaster``: the typed appliance client → observed virtual services.
- ``lmctl.appliance``: the seam: observed state, the changes, opening and reading appliances.
- ``lmctl.plan``: desired vs observed → a plan of ordered changes; ``lmctl.apply`` applies it.
- ``lmctl.status``: failover checks; ``lmctl.maintenance``: member drain/undrain.
- ``lmctl.mock``: a mock appliance that speaks the real API.
- ``lmctl.cli``: the thin command line on top.

The names a library user needs are importable from here (``from lmctl import load_specs,
expand_all, open_appliances, observe_all, make_plan, apply_plan``); they are loaded on first use,
so importing ``lmctl`` (and starting the CLI) stays fast::

    spec_set = load_specs([Path("arrays")])
    async with open_appliances(spec_set, spec_set.inventory.appliances) as appliances:
        plan = make_plan(expand_all(spec_set), await observe_all(appliances),
                         specs_digest=spec_set.digest)
        results = await apply_plan(plan, appliances, ApplyOptions(), print)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Public name → the module that defines it.
_PUBLIC: dict[str, str] = {
    "LmctlError": "lmctl.errors",
    "load_specs": "lmctl.specs",
    "SpecSet": "lmctl.specs",
    "SpecError": "lmctl.specs",
    "expand": "lmctl.exchange",
    "expand_all": "lmctl.exchange",
    "DesiredVirtualService": "lmctl.exchange",
    "ApplianceConnection": "lmctl.loadmaster.connection",
    "LoadMaster": "lmctl.loadmaster.client",
    "LoadMasterError": "lmctl.loadmaster.errors",
    "Appliance": "lmctl.appliance.base",
    "open_appliances": "lmctl.appliance.base",
    "observe_all": "lmctl.appliance.base",
    "make_plan": "lmctl.plan.document",
    "Plan": "lmctl.plan.document",
    "apply_plan": "lmctl.apply.execute",
    "ApplyOptions": "lmctl.apply.execute",
    "MockAppliance": "lmctl.mock",
    "serve_in_thread": "lmctl.mock.server",
}

__all__ = [
    "Appliance",
    "ApplianceConnection",
    "ApplyOptions",
    "DesiredVirtualService",
    "LmctlError",
    "LoadMaster",
    "LoadMasterError",
    "MockAppliance",
    "Plan",
    "SpecError",
    "SpecSet",
    "__version__",
    "apply_plan",
    "expand",
    "expand_all",
    "load_specs",
    "make_plan",
    "observe_all",
    "open_appliances",
    "serve_in_thread",
]

if TYPE_CHECKING:
    from lmctl.appliance.base import Appliance, observe_all, open_appliances
    from lmctl.apply.execute import ApplyOptions, apply_plan
    from lmctl.errors import LmctlError
    from lmctl.exchange import DesiredVirtualService, expand, expand_all
    from lmctl.loadmaster.client import LoadMaster
    from lmctl.loadmaster.connection import ApplianceConnection
    from lmctl.loadmaster.errors import LoadMasterError
    from lmctl.mock import MockAppliance
    from lmctl.mock.server import serve_in_thread
    from lmctl.plan.document import Plan, make_plan
    from lmctl.specs import SpecError, SpecSet, load_specs


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'lmctl' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
