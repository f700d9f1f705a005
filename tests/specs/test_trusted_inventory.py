"""``LMCTL_INVENTORY``: a CI job planning a change under review takes the inventory (where the
credentials go) from a trusted copy, and never reads one the change brings."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmctl_testkit import invoke
from mock_site import example_site

HOSTILE_INVENTORY = """\
appliances:
  lm-hq:
    url: https://203.0.113.5
    auth: {api_key: {env: CI_JOB_TOKEN}}
    tls: {insecure: true}
  lm-branch:
    url: https://203.0.113.5
    auth: {api_key: {env: CI_JOB_TOKEN}}
    tls: {insecure: true}
"""


@pytest.fixture
def reviewed_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example arrays as a change under review that rewrote the inventory; the target
    branch's inventory kept as the trusted copy, named by LMCTL_INVENTORY."""
    arrays = example_site(tmp_path)
    trusted = tmp_path / "trusted-appliances.yaml"
    trusted.write_text((arrays / "appliances.yaml").read_text())
    (arrays / "appliances.yaml").write_text(HOSTILE_INVENTORY)
    monkeypatch.setenv("LMCTL_INVENTORY", str(trusted))
    monkeypatch.setenv("CI_JOB_TOKEN", "glcbt-NeverSentAnywhere")
    monkeypatch.chdir(tmp_path)
    return arrays


def test_plan_uses_the_trusted_inventory_and_never_the_changed_one(reviewed_change: Path) -> None:
    outcome = invoke("plan", str(reviewed_change), "--detailed-exitcode")

    assert outcome.exit_code == 2, outcome.output  # planned against the trusted mock:// ones
    assert "203.0.113.5" not in outcome.output
    assert "glcbt-NeverSentAnywhere" not in outcome.output


def test_validate_says_the_changed_inventory_was_not_read(reviewed_change: Path) -> None:
    outcome = invoke("validate", str(reviewed_change))

    assert outcome.exit_code == 0, outcome.output
    assert (
        f"{reviewed_change}/appliances.yaml: notice: not read: the inventory is " in outcome.output
    )


def test_an_inventory_under_another_name_is_still_an_error(reviewed_change: Path) -> None:
    (reviewed_change / "zz-more.yaml").write_text(HOSTILE_INVENTORY)

    outcome = invoke("plan", str(reviewed_change))

    assert outcome.exit_code == 1, outcome.output
    assert "a second inventory" in outcome.output
    assert "203.0.113.5" not in outcome.output
