"""JSON Schema of what ``lmctl plan --format json`` prints and ``--out`` saves.

One document of two kinds: a plan (``kind`` ``lmctl-plan``) or, when no plan could be made, a
failure (``kind`` ``lmctl-plan-failure`` with ``error`` {kind, message, details}). Published by
``lmctl schema --kind plan`` and committed as ``docs/schema/plan.schema.json``.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from lmctl.reconcile.plan import Plan, PlanFailure
from lmctl.specs.loader import SCHEMA_DIALECT

TITLE = "lmctl plan document (plan --format json, plan --out), format_version 1"


def plan_json_schema() -> dict[str, Any]:
    """The schema of the plan document: a plan, or the failure printed instead of one."""
    schema = TypeAdapter(Plan | PlanFailure).json_schema(mode="serialization")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": TITLE}
