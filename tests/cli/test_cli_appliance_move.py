"""An array moved to another appliance (``appliance:`` changed), as docs/plan-apply.md tells it:
the directory plans the delete on the old appliance (needs --force) and the create on the new
one; a spec file reads only the new appliance, so the old VS would keep answering on the VIP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "arrays"
OLD_DELETED = (
    "lm-branch: the plan deletes every virtual service of array 'branch-cas' (3); the array "
    "would stop serving [array-deleted]"
)


def invoke(*args: str) -> tuple[int, str]:
    """Run lmctl in-process; (exit code, output)."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example arrays applied to their mock appliances, then branch-cas moved from
    lm-branch to lm-hq in its file (same VIP)."""
    site = tmp_path_factory.mktemp("move")
    shutil.copytree(EXAMPLES, site / "arrays")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(site)
        code, output = invoke("apply", "--auto-approve", "--state-dir", str(site / "state"))
    assert code == 0, output
    spec = site / "arrays" / "branch-cas.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("appliance: lm-branch", "appliance: lm-hq"), encoding="utf-8")
    return site


def plan(site: Path, spec_path: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """``lmctl plan spec_path`` run in ``site`` with its mock state; (exit code, output)."""
    monkeypatch.chdir(site)
    return invoke("plan", spec_path, "--state-dir", str(site / "state"))


def test_directory_plans_delete_on_old_and_create_on_new_behind_force(
    moved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = plan(moved, "arrays", monkeypatch)

    assert code == 3, output
    deleted = "- delete virtual service 10.20.1.50:443/tcp (NickName 'lmctl.branch-cas.https'"
    assert deleted in output
    assert "+ create virtual service 10.20.1.50:443/tcp" in output
    assert f"  - {OLD_DELETED}" in output.splitlines()


def test_spec_file_reads_only_the_new_appliance_and_leaves_the_old_vs(
    moved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = plan(moved, "arrays/branch-cas.yaml", monkeypatch)

    assert code == 0, output
    assert "Appliance lm-hq " in output
    assert "+ create virtual service 10.20.1.50:443/tcp" in output
    assert "lm-branch" not in output
    assert "delete virtual service" not in output
