"""Renderers and saved plans, on a hand-built plan with every kind of line."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from plan_builders import desired, key, members, observed_from, unmarked

from lmctl import __version__
from lmctl.appliance.loadmaster import appliance_state
from lmctl.plan.document import Plan, make_plan
from lmctl.plan.planfile import PlanFileError, load_plan, looks_like_plan, save_plan
from lmctl.plan.render import RENDERERS, render_markdown, render_text

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def mixed_plan() -> Plan:
    """hq/https moved to .11 with a port change and a drain; hq/smtp in conflict; old deleted."""
    moved = desired(
        at=key("10.0.1.11"),
        real_servers=members("10.0.1.21", "10.0.1.22", port=444),
    )
    before = desired(real_servers=members("10.0.1.21", "10.0.1.22"))
    smtp = desired(service="smtp", at=key(port="25"))
    old = desired(array="old", at=key("10.0.3.10"), real_servers=members("10.0.3.21"))
    observed = [
        observed_from(before, rs_enable={"10.0.1.22": False}),
        unmarked("10.0.1.10", "25", index=7),
        observed_from(old, index=3),
        observed_from(desired(array="old", service="smtp", at=key("10.0.3.10", "25")), index=4),
    ]
    return make_plan(
        {"lm-hq": [moved, smtp]},
        {"lm-hq": appliance_state(observed)},
        specs_digest="sha256:abc",
        now=NOW,
    )


def test_text_outline_of_every_kind_of_change() -> None:
    assert render_text(mixed_plan()).plain.splitlines() == [
        "Appliance lm-hq  (Plan: 0 to create, 1 to update, 2 to delete (virtual services); "
        "0 to add, 2 to change, 0 to remove (real servers); 1 conflict.)",
        "  array hq",
        "    service https (10.0.1.11:443/tcp)",
        "      ~ move virtual service 10.0.1.10:443/tcp → 10.0.1.11:443/tcp",
        "      ~ change real server cas01 10.0.1.21:443",
        "          ~ port: 443 → 444",
        "      ~ change real server cas02 10.0.1.22:443",
        "          ~ port: 443 → 444",
        "      ! drained: cas02 10.0.1.22:444 is disabled on the appliance and stays disabled "
        "(the spec does not set enable)",
        "    service smtp (10.0.1.10:25/tcp)",
        "      ! conflict: hq/smtp wants 10.0.1.10:25/tcp, which is held by the VS named "
        "'OWA-legacy' (Index 7) that lmctl does not own; to take it over, adopt it "
        "(adopt: true in the spec, or --adopt hq); else change the spec's VIP or free the "
        "address on the appliance",
        "  array old",
        "    service https (10.0.3.10:443/tcp)",
        "      - delete virtual service 10.0.3.10:443/tcp (NickName 'lmctl.old.https', "
        "1 real server)",
        "    service smtp (10.0.3.10:25/tcp)",
        "      - delete virtual service 10.0.3.10:25/tcp (NickName 'lmctl.old.smtp', "
        "0 real servers)",
        "Blocked by safety rules (apply needs --allow RULE for each rule below, or --force):",
        "  - lm-hq: the plan deletes every virtual service of array 'old' (2); the array would "
        "stop serving [array-deleted]",
        "  - lm-hq: moving hq's VIP from 10.0.1.10 to 10.0.1.11 breaks every client until DNS "
        "(the array's namespace names) points at 10.0.1.11; re-run with --allow "
        "virtual-service-moved once DNS is ready [virtual-service-moved]",
        "1 conflict: nothing can be applied until each is resolved (a conflict is never "
        "overridden, not even by --force)",
        "Plan: 0 to create, 1 to update, 2 to delete (virtual services); 0 to add, 2 to change, "
        "0 to remove (real servers); 1 conflict.",
    ]


def test_with_force_the_rules_are_allowed_and_conflicts_still_block() -> None:
    lines = render_text(mixed_plan(), force=True).plain.splitlines()
    assert "Safety rules broken (allowed by --force):" in lines
    assert not any("apply needs --force" in line for line in lines)
    assert "not even by --force" in lines[-2]
    markdown = render_markdown(mixed_plan(), force=True)
    assert "### :no_entry: Safety rules broken (allowed by `--force`)" in markdown
    assert "apply needs" not in markdown


def test_each_rule_allowed_is_marked_and_the_heading_says_what_still_blocks() -> None:
    some = render_text(mixed_plan(), allow={"array-deleted"}).plain.splitlines()
    assert (
        "Blocked by safety rules (apply needs --allow RULE for each rule below, or --force):"
        in some
    )
    assert any(line.endswith("[array-deleted, allowed]") for line in some)
    assert any(line.endswith("[virtual-service-moved]") for line in some)
    every = {"array-deleted", "virtual-service-moved"}
    assert (
        "Safety rules broken (allowed by --allow):" in render_text(mixed_plan(), allow=every).plain
    )
    markdown = render_markdown(mixed_plan(), allow=every)
    assert "### :no_entry: Safety rules broken (allowed by `--allow`)" in markdown
    assert "(`virtual-service-moved, allowed`)" in markdown


def test_a_narrowed_scope_is_printed_in_the_header_and_saved() -> None:
    plan = mixed_plan().model_copy(update={"scope": ("hq",)})
    line = "scope: arrays hq (spec files given); other arrays are left alone"
    assert render_text(plan).plain.splitlines()[0] == line
    assert f"_{line}_" in render_markdown(plan).splitlines()
    assert json.loads(str(RENDERERS["json"](plan)))["scope"] == ["hq"]
    assert "scope:" not in render_text(mixed_plan()).plain


def test_markdown_has_summary_safety_and_a_diff_block() -> None:
    lines = render_markdown(mixed_plan()).splitlines()
    assert lines[:5] == [
        "## lmctl plan",
        "",
        "**Plan: 0 to create, 1 to update, 2 to delete (virtual services); 0 to add, 2 to change, "
        "0 to remove (real servers); 1 conflict.**",
        "",
        f"Specs `sha256:abc`, planned 2026-11-26 12:00:00 UTC by lmctl {__version__}.",
    ]
    assert (
        "### :no_entry: Blocked by safety rules (apply needs `--allow RULE` for each rule below, "
        "or `--force`)"
    ) in lines
    block = lines[lines.index("```diff") + 1 :]
    assert block[:3] == [
        "  array hq",
        "    service https (10.0.1.11:443/tcp)",
        "!     move virtual service 10.0.1.10:443/tcp → 10.0.1.11:443/tcp",
    ]
    assert (
        "-     delete virtual service 10.0.3.10:25/tcp (NickName 'lmctl.old.smtp', 0 real servers)"
        in block
    )


def test_no_changes_says_so() -> None:
    plan = make_plan({"lm-hq": []}, {"lm-hq": {}}, specs_digest="x", now=NOW)
    assert render_text(plan).plain.splitlines() == [
        "No changes: the appliances match the specs.",
        "Plan: 0 to create, 0 to update, 0 to delete (virtual services); 0 to add, 0 to change, "
        "0 to remove (real servers).",
    ]
    assert "No changes: the appliances match the specs." in render_markdown(plan)


def test_saved_plan_round_trips_and_is_recognised(tmp_path: Path) -> None:
    plan = mixed_plan()
    path = tmp_path / "plans" / "plan.json"
    save_plan(plan, path)
    assert looks_like_plan(path)
    assert load_plan(path) == plan
    assert json.loads(path.read_text()) == json.loads(str(RENDERERS["json"](plan)))
    spec = tmp_path / "hq.yaml"
    spec.write_text('{"kind": "lmctl-plan"}')
    assert not looks_like_plan(spec)
    assert not looks_like_plan(tmp_path)
    # Saved again by an editor that writes a UTF-8 byte order mark: still the plan.
    marked = tmp_path / "plan-bom.json"
    marked.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert looks_like_plan(marked)
    assert load_plan(marked) == plan


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a readable plan file"),
        ('{"kind": "other"}', 'not an lmctl plan (no "kind": "lmctl-plan")'),
        (
            '{"kind": "lmctl-plan", "format_version": 2}',
            "plan format_version 2; this lmctl reads version 1: make the plan again",
        ),
        (
            '{"kind": "lmctl-plan", "format_version": 1}',
            "invalid plan at lmctl_version: Field required",
        ),
        (
            '{"format_version": 1, "kind": "lmctl-plan-failure", "lmctl_version": "0.1.0", '
            '"error": {"kind": "read", "message": "cannot read lm-hq: timed out"}, '
            '"exit_code": 1}',
            "is the output of a failed lmctl plan (cannot read lm-hq: timed out): it holds no "
            "plan to apply",
        ),
    ],
)
def test_unusable_plan_files_are_refused_clearly(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanFileError, match=re.escape(message)):
        load_plan(path)
