"""A saved plan records each appliance's URL (never a credential) and applies only to that box;
its safety verdict is made again when it is loaded; ``--appliance`` narrows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.planfile import public_url
from mock_site import APPLIANCE, Array, Site, example_site, lmctl

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])
A2 = Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12"])


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch, A1, A2)


def saved_plan(site: Site) -> Path:
    saved = site.root / "plan.json"
    site.plan("--out", str(saved))
    assert saved.is_file()
    return saved


def edit(path: Path, change: dict[str, object]) -> None:
    document = json.loads(path.read_text())
    for appliance in document["appliances"]:
        appliance.update(change)
    path.write_text(json.dumps(document))


def test_public_url_drops_user_password_query_and_fragment() -> None:
    assert public_url("https://bal:s3cret@10.0.0.5:8443/?apikey=abc#x") == "https://10.0.0.5:8443"
    assert public_url("https://[2001:db8::5]") == "https://[2001:db8::5]"
    assert public_url("mock://lm-hq") == "mock://lm-hq"


def test_saved_plan_is_refused_when_the_appliance_url_changed(
    site: Site, mock_control: MockControl
) -> None:
    saved = saved_plan(site)
    inventory_file = site.arrays_dir / "appliances.yaml"
    inventory = yaml.safe_load(inventory_file.read_text())
    inventory["appliances"][APPLIANCE]["url"] = "https://127.0.0.1:1"
    inventory_file.write_text(yaml.safe_dump(inventory))
    mock_control.clear_log()
    refused = site.lmctl("apply", str(saved), "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert (
        f"moved: {APPLIANCE}: the plan was made for {site.server.url}, the inventory now says "
        "https://127.0.0.1:1" in refused.stderr
    )
    assert "nothing was read or written; make a new plan" in refused.stderr
    assert mock_control.calls() == []


def test_saved_plan_without_urls_is_refused(site: Site, mock_control: MockControl) -> None:
    saved = saved_plan(site)
    edit(saved, {"url": None})
    refused = site.lmctl("apply", str(saved), "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert f"moved: {APPLIANCE}: the plan records no URL for it (made by an older lmctl)" in (
        refused.stderr
    )
    assert mock_control.write_count() == 0


def test_hand_edited_plan_without_its_violations_is_still_blocked(
    site: Site, mock_control: MockControl
) -> None:
    assert site.apply().exit_code == 0
    site.remove("a2")
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 3
    document = json.loads(saved.read_text())
    assert [v["rule"] for v in document["violations"]] != []
    document["violations"] = []
    saved.write_text(json.dumps(document))
    mock_control.clear_log()
    blocked = site.lmctl("apply", str(saved), "--auto-approve")
    assert blocked.exit_code == 3, blocked.output
    assert "the plan deletes every virtual service of array 'a2'" in blocked.output
    assert mock_control.write_count() == 0


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
