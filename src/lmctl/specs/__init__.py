"""Array specs and the appliance inventory: YAML on disk → validated, cross-checked models.

``load_specs(paths)`` is the entry point; see ``docs/specs.md`` for the YAML shape and the rules.
"""

from lmctl.releases import ExchangeVersion, parse_exchange_version
from lmctl.specs.array import ArraySpec, HealthCheck, MemberSpec, RpcPorts, ServiceOverride
from lmctl.specs.credentials import AuthSpec, CredentialError
from lmctl.specs.diagnostics import Diagnostic, SpecError
from lmctl.specs.inventory import ApplianceSpec, Inventory, TlsSpec
from lmctl.specs.loader import SpecSet, load_specs

__all__ = [
    "ApplianceSpec",
    "ArraySpec",
    "AuthSpec",
    "CredentialError",
    "Diagnostic",
    "ExchangeVersion",
    "HealthCheck",
    "Inventory",
    "MemberSpec",
    "RpcPorts",
    "ServiceOverride",
    "SpecError",
    "SpecSet",
    "TlsSpec",
    "load_specs",
    "parse_exchange_version",
]
