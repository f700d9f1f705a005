"""lmctl: Exchange client access on Kemp LoadMaster appliances, as code.

The flow, module by module:

- ``lmctl.specs``: array specs and the appliance inventory (YAML) → validated models.
- ``lmctl.exchange``: Exchange profiles; expansion of an array into desired virtual services.
- ``lmctl.loadmaster``: the typed appliance client → observed virtual services.
- ``lmctl.reconcile``: desired vs observed → a plan of ordered changes → apply.
- ``lmctl.status``: failover checks and member maintenance (drain/undrain).
- ``lmctl.mock``: a mock appliance that speaks the real API.
- ``lmctl.cli``: the thin command line on top.
"""

__version__ = "0.1.0"
