"""JSON Schema of the array spec and of the inventory, for editors and CI checks."""

from __future__ import annotations

from typing import Any, Literal

from lmctl.specs.array import ArraySpec
from lmctl.specs.inventory import Inventory

SchemaKind = Literal["array", "inventory"]
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_TITLES = {
    "array": "lmctl array spec (one Exchange client access array)",
    "inventory": "lmctl appliance inventory (appliances.yaml)",
}


def json_schema(kind: SchemaKind) -> dict[str, Any]:
    """The JSON Schema of one kind of spec file."""
    model = ArraySpec if kind == "array" else Inventory
    schema = model.model_json_schema(mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": _TITLES[kind]}
