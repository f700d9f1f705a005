"""``lmctl apply PLANFILE --appliance NAME`` writes to the named appliances only, over HTTPS
against the example's two built-in mock appliances."""

from __future__ import annotations

from pathlib import Path

from reconcile_example import example_site, lmctl


def test_apply_saved_plan_with_appliance_writes_only_there(tmp_path: Path) -> None:
    arrays = example_site(tmp_path)
    saved = tmp_path / "p.json"
    assert lmctl(tmp_path, "plan", str(arrays), "--out", str(saved)).exit_code == 0
    applied = lmctl(tmp_path, "apply", str(saved), "--auto-approve", "-a", "lm-hq")
    assert applied.exit_code == 0, applied.output
    assert "lm-branch" not in applied.output
    hq = lmctl(tmp_path, "plan", str(arrays), "-a", "lm-hq", "--detailed-exitcode")
    assert hq.exit_code == 0, hq.output
    branch = lmctl(tmp_path, "plan", str(arrays), "-a", "lm-branch", "--detailed-exitcode")
    assert branch.exit_code == 2, branch.output
    assert "+ create virtual service" in branch.output


def test_apply_saved_plan_refuses_an_appliance_not_in_it(tmp_path: Path) -> None:
    arrays = example_site(tmp_path)
    saved = tmp_path / "p.json"
    assert lmctl(tmp_path, "plan", str(arrays), "-a", "lm-hq", "--out", str(saved)).exit_code == 0
    refused = lmctl(tmp_path, "apply", str(saved), "--auto-approve", "-a", "lm-branch")
    assert refused.exit_code == 1
    assert (
        f"error: --appliance lm-branch: not in {saved} (it plans lm-hq); nothing was read or "
        "written" in refused.stderr
    )
    assert not (tmp_path / ".lmctl" / "mock-lm-branch.json").exists()
