"""The published JSON Schema of the plan document (``lmctl schema --kind plan``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
from plan_builders import desired, members, observed_from
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.appliance.loadmaster import appliance_state
from lmctl.cli.app import app
from lmctl.plan.document import FailureDetail, PlanFailure, make_plan

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "schema" / "plan.schema.json"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def printed_schema() -> dict[str, object]:
    result = CliRunner().invoke(app, ["schema", "--kind", "plan"])
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_committed_plan_schema_equals_lmctl_schema_kind_plan() -> None:
    committed = json.loads(COMMITTED.read_text())
    assert committed == printed_schema(), "regenerate: lmctl schema --kind plan"
    assert committed["title"] == (
        "lmctl plan document (plan --format json, plan --out), format_version 1"
    )
    assert "docs/schema/plan.schema.json" in (REPO / "docs" / "plan-apply.md").read_text()


def test_plans_and_failures_validate_and_other_documents_do_not() -> None:
    schema = printed_schema()
    before = desired(array="old", real_servers=members("10.0.1.21"))
    plan = make_plan(
        {"lm-hq": [desired(real_servers=members("10.0.1.22"))]},
        {"lm-hq": appliance_state([observed_from(before)])},
        specs_digest="sha256:abc",
        scope=("hq",),
        now=NOW,
    )
    jsonschema.validate(json.loads(plan.model_dump_json()), schema)
    failure = PlanFailure(
        lmctl_version="0.1.0",
        error=FailureDetail(kind="read", message="cannot read lm-hq: timed out"),
        exit_code=1,
    )
    jsonschema.validate(json.loads(failure.model_dump_json()), schema)
    broken = {"format_version": 1, "kind": "lmctl-plan-failure", "error": {"kind": "oops"}}
    assert not jsonschema.Draft202012Validator(schema).is_valid(broken)
