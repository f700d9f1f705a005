"""Array specs and the appliance inventory: YAML on disk → validated, cross-checked models.

``load_specs(paths)`` is the entry point; see ``docs/specs.md`` for the YAML shape and the rules.
The modules, in the order the data flows: ``source`` (YAML with the line of every value,
diagnostics), ``validation`` (the models' base; pydantic errors in the writer's words),
``array`` and ``inventory`` (the models), ``rules`` (over one array and over the set),
``loader`` (files → ``SpecSet`` or ``SpecError``; the JSON Schemas and the editor hint that
reaches them).
"""

from lmctl.releases import ExchangeVersion, parse_exchange_version
from lmctl.specs.array import ArraySpec, HealthCheck, MemberSpec, RpcPorts, ServiceOverride
from lmctl.specs.inventory import ApplianceSpec, AuthSpec, CredentialError, Inventory, TlsSpec
from lmctl.specs.loader import SCHEMA_DIR, SpecSet, json_schema, load_specs, schema_hint
from lmctl.specs.source import Diagnostic, SpecError

__all__ = [
    "SCHEMA_DIR",
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
    "json_schema",
    "load_specs",
    "parse_exchange_version",
    "schema_hint",
]
