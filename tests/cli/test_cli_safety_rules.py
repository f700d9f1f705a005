"""The safety rules as an operator meets them, through the CLI over HTTPS against the mock:
removing one member of three passes, two of three is refused by ``failover-lost``, each refusal
names the rule that ``--allow RULE`` waives, and the inventory sets the bulk-removal thresholds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmctl.mock.server import MockServerHandle
from lmctl_testkit import Outcome, invoke
from mock_site import Array, Site

THREE = ["10.0.20.11", "10.0.20.12", "10.0.20.13"]
RULES = (
    "array-deleted, appliance-move, bulk-removal, failover-lost, virtual-service-moved, "
    "unmanaged-deleted, layer-7-dropped, reencryption-made-transparent"
)


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    """One array of three members (two services), applied."""
    site = Site.open(tmp_path, mock_server, monkeypatch, Array("mail", "10.0.20.50", THREE))
    applied = site.apply()
    assert applied.exit_code == 0, applied.output
    return site


def members_on_appliance(site: Site) -> set[str]:
    return {rs.address for vs in site.read() for rs in vs.real_servers}


def plan_blocked_by(site: Site, violation: str) -> Outcome:
    """``lmctl plan``, which must exit 3 listing ``violation`` (with its rule) under the plan."""
    planned = site.plan()
    assert planned.exit_code == 3, planned.output
    assert f"  - {violation}" in planned.output.splitlines()
    return planned


def test_removing_one_member_of_three_plans_as_a_change_and_applies_without_flags(
    site: Site,
) -> None:
    site.write(Array("mail", "10.0.20.50", THREE[:2]))

    planned = site.plan()
    assert planned.exit_code == 2, planned.output
    assert "safety rule" not in planned.output
    applied = site.apply()
    assert applied.exit_code == 0, applied.output
    assert members_on_appliance(site) == set(THREE[:2])


def test_removing_two_of_three_is_refused_by_failover_lost_until_allowed(site: Site) -> None:
    site.write(Array("mail", "10.0.20.50", THREE[:1]))

    planned = plan_blocked_by(
        site,
        "lm-test: array 'mail' is left with fewer than two members, no failover: "
        "https (10.0.20.50:443/tcp) 3 → 1, smtp (10.0.20.50:25/tcp) 3 → 1 [failover-lost]",
    )
    assert (
        "error: blocked by 1 safety rule (failover-lost; see the plan); review it, then re-run "
        "with --allow failover-lost to allow it (--force allows every rule)"
    ) in planned.output
    refused = site.apply()
    assert refused.exit_code == 3, refused.output
    assert members_on_appliance(site) == set(THREE)

    allowed = site.apply("--allow", "failover-lost")
    assert allowed.exit_code == 0, allowed.output
    assert "[failover-lost, allowed]" in allowed.output
    assert members_on_appliance(site) == set(THREE[:1])


@pytest.mark.parametrize("rule", ["no-such-rule", "break-before-make"])
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_allow_takes_only_a_rule_it_can_waive(site: Site, command: str, rule: str) -> None:
    site.write(Array("mail", "10.0.20.50", THREE[:1]))

    approve = ["--auto-approve"] if command == "apply" else []
    outcome = site.lmctl(command, str(site.arrays_dir), *approve, "--allow", rule)
    assert outcome.exit_code == 64, outcome.output
    # The message as read in rich's error box, whatever the terminal's width.
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", outcome.output).split())
    assert f"no safety rule named '{rule}' that can be allowed; the rules: {RULES}" in said
    assert members_on_appliance(site) == set(THREE)


def inventory_safety(site: Site, text: str) -> None:
    inventory = site.arrays_dir / "appliances.yaml"
    inventory.write_text(inventory.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_the_inventory_sets_the_bulk_removal_threshold_and_its_minimum(site: Site) -> None:
    site.write(Array("mail", "10.0.20.50", THREE[:2]))
    inventory_safety(site, "safety:\n  bulk_removal: {percent: 10, minimum: 3}\n")

    plan_blocked_by(
        site,
        "lm-test: the plan removes 1 of the 3 array members lmctl manages here (33%, more "
        "than 10%) [bulk-removal]",
    )
    assert site.plan("--allow", "bulk-removal").exit_code == 2

    inventory = site.arrays_dir / "appliances.yaml"
    inventory.write_text(
        inventory.read_text(encoding="utf-8").replace("minimum: 3", "minimum: 4"),
        encoding="utf-8",
    )
    assert site.plan().exit_code == 2  # 3 members: below the minimum, the rule does not count


def test_a_threshold_out_of_range_is_a_spec_error_naming_the_field(site: Site) -> None:
    inventory_safety(site, "safety:\n  bulk_removal: {percent: 0}\n")

    planned = site.plan()
    assert planned.exit_code == 1, planned.output
    assert "appliances.yaml" in planned.output
    assert "safety.bulk_removal.percent" in planned.output


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("safety:\n  bulk_removal: {percent: '30'}\n", "safety.bulk_removal.percent"),
        ("safety:\n  bulk_removal: {minimum: true}\n", "safety.bulk_removal.minimum"),
        ("safety:\n  bulk_removal: {minimum: 1000000}\n", "safety.bulk_removal.minimum"),
        ("    keep_backups: true\n", "keep_backups"),
    ],
)
def test_a_threshold_given_as_a_string_or_bool_is_a_spec_error(
    site: Site, text: str, field: str
) -> None:
    """Before: '30' and true were taken as numbers (a quoted or mistyped value went unnoticed)."""
    inventory = site.arrays_dir / "appliances.yaml"
    body = inventory.read_text(encoding="utf-8")
    # keep_backups belongs to the appliance (the inventory ends with its entry).
    inventory.write_text(body + text, encoding="utf-8")

    planned = site.plan()
    assert planned.exit_code == 1, planned.output
    assert "appliances.yaml" in planned.output
    assert field in planned.output


def test_a_saved_plan_needs_the_same_allow_when_applied(site: Site) -> None:
    site.write(Array("mail", "10.0.20.50", THREE[:1]))
    saved = site.root / "plan.json"

    planned = site.plan("--allow", "failover-lost", "--out", str(saved))
    assert planned.exit_code == 2, planned.output
    blocked = site.lmctl("apply", str(saved), "--auto-approve")
    assert blocked.exit_code == 3, blocked.output
    assert "--allow failover-lost" in blocked.output
    assert members_on_appliance(site) == set(THREE)
    allowed = site.lmctl("apply", str(saved), "--auto-approve", "--allow", "failover-lost")
    assert allowed.exit_code == 0, allowed.output
    assert members_on_appliance(site) == set(THREE[:1])


def test_a_saved_plan_is_checked_against_the_inventorys_thresholds_when_applied(
    site: Site,
) -> None:
    site.write(Array("mail", "10.0.20.50", THREE[:2]))
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 2
    inventory_safety(site, "safety:\n  bulk_removal: {percent: 10, minimum: 3}\n")

    blocked = site.lmctl("apply", str(saved), "--auto-approve")

    assert blocked.exit_code == 3, blocked.output
    assert "[bulk-removal]" in blocked.output
    assert members_on_appliance(site) == set(THREE)


def test_allow_is_repeatable_and_the_refusal_names_only_the_rules_still_blocking(
    site: Site,
) -> None:
    site.write(Array("mail", "10.0.20.50", THREE[:1]))
    inventory_safety(site, "safety:\n  bulk_removal: {percent: 10, minimum: 3}\n")

    one = site.apply("--allow", "failover-lost")
    assert one.exit_code == 3, one.output
    assert "error: blocked by 1 safety rule (bulk-removal; see the plan)" in one.output
    assert "re-run with --allow bulk-removal to allow it" in one.output
    assert members_on_appliance(site) == set(THREE)

    both = site.apply("--allow", "failover-lost", "--allow", "bulk-removal")
    assert both.exit_code == 0, both.output
    assert members_on_appliance(site) == set(THREE[:1])


def test_a_mistyped_rule_gets_did_you_mean() -> None:
    outcome = invoke("plan", "--allow", "failovr")

    assert outcome.exit_code == 64, outcome.output
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", outcome.output).split())
    assert "no safety rule named 'failovr' that can be allowed (did you mean 'failover-lost'?)" in (
        said
    )
