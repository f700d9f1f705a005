"""What a first-time user ran into with ``lmctl plan``/``apply``, over real HTTPS against the mock.

Spec files vs directories (the plan's scope), errors on stdout for CI, ``--out`` never over an
input, renamed arrays, lock refusals, re-applied and misplaced saved plans.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from lmctl.cli.app import app
from lmctl.cli.options import SPEC_PATHS_HELP
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.planfile import plan_json_schema
from lmctl.statedir import appliance_lock, lock_path
from mock_site import Array, Site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12", "10.1.1.13"])
A2 = Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12", "10.1.2.13"])
SCOPE_LINE = "scope: arrays a1 (spec files given); other arrays are left alone"


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch, A1, A2)


def nicknames(site: Site) -> dict[VirtualServiceKey | None, str | None]:
    return {vs.key: vs.nickname for vs in site.read()}


def applied(site: Site) -> None:
    result = site.apply()
    assert result.exit_code == 0, result.output


def test_a_spec_file_plans_and_applies_only_its_own_arrays(
    site: Site, mock_control: MockControl
) -> None:
    applied(site)
    a2_before = {k: n for k, n in nicknames(site).items() if k is not None and k.address == A2.vip}
    assert len(a2_before) == 2
    site.write(Array("a1", A1.vip, A1.members, scheduling="lc"))
    a1_file = str(site.arrays_dir / "a1.yaml")
    result = site.lmctl("plan", a1_file, "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    assert result.stdout.splitlines()[0] == SCOPE_LINE
    assert "delete virtual service" not in result.stdout
    assert "array a2" not in result.stdout
    assert "Plan: 0 to create, 2 to update, 0 to delete (virtual services)" in result.stdout
    document = json.loads(site.lmctl("plan", a1_file, "--format", "json").stdout)
    assert document["scope"] == ["a1"]
    saved = site.root / "a1-plan.json"
    assert site.lmctl("plan", a1_file, "--out", str(saved)).exit_code == 0
    assert json.loads(saved.read_text())["scope"] == ["a1"]
    mock_control.clear_log()
    forced = site.lmctl("apply", str(saved), "--auto-approve", "--force")
    assert forced.exit_code == 0, forced.output
    assert [c.command for c in mock_control.calls() if c.write] == ["modvs", "modvs"]
    after = nicknames(site)
    assert {k: after.get(k) for k in a2_before} == a2_before
    # A directory is the whole truth: plan it and nothing is left to do for either array.
    assert site.plan().exit_code == 0


def test_plan_errors_reach_stdout_as_markdown_and_json(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LMCTL_TEST_MOCK_PASSWORD")
    markdown = site.plan("--format", "markdown")
    assert markdown.exit_code == 1
    assert markdown.stdout.startswith("## lmctl plan: failed\n")
    assert "**No plan was made: an appliance cannot be opened" in markdown.stdout
    assert "LMCTL_TEST_MOCK_PASSWORD is not set" in markdown.stdout
    assert "Exit code 1" in markdown.stdout
    assert markdown.stderr.startswith("error: lm-test: ")
    assert "LMCTL_TEST_MOCK_PASSWORD is not set" in markdown.stderr
    as_json = site.plan("--format", "json")
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    jsonschema.validate(document, plan_json_schema())
    assert (document["format_version"], document["kind"], document["exit_code"]) == (
        1,
        "lmctl-plan-failure",
        1,
    )
    assert document["error"]["kind"] == "appliance"
    assert "LMCTL_TEST_MOCK_PASSWORD is not set" in document["error"]["message"]
    (site.arrays_dir / "a1.yaml").write_text("name: a1\nvip: not-an-ip\n")
    specs = json.loads(site.plan("--format", "json").stdout)
    assert specs["error"]["kind"] == "specs"
    assert any("a1.yaml:2: error: vip:" in line for line in specs["error"]["details"])
    text = site.plan()
    assert text.stdout == ""


@pytest.mark.parametrize("target", ["arrays/a1.yaml", "arrays/appliances.yaml", "arrays/p.json"])
def test_out_never_overwrites_a_spec_nor_lands_in_a_spec_directory(site: Site, target: str) -> None:
    path = site.root / target
    before = path.read_text() if path.exists() else None
    result = site.plan("--out", str(path))
    assert result.exit_code == 1
    reason = "is one of the specs read" if before is not None else "is inside the spec directory"
    assert f"error: --out {path} {reason}" in result.stderr
    assert "nothing was read or written" in result.stderr
    assert (path.read_text() if path.exists() else None) == before


def test_out_given_spec_files_refuses_yaml_beside_them_but_not_json_elsewhere(
    site: Site,
) -> None:
    a1_file = str(site.arrays_dir / "a1.yaml")
    beside = site.arrays_dir / "plan.yaml"
    refused = site.lmctl("plan", a1_file, "--out", str(beside))
    assert refused.exit_code == 1
    assert f"error: --out {beside} is a YAML file next to the spec {a1_file}" in refused.stderr
    assert not beside.exists()
    elsewhere = site.root / "plan.json"
    assert site.lmctl("plan", a1_file, "--out", str(elsewhere)).exit_code == 0
    assert json.loads(elsewhere.read_text())["scope"] == ["a1"]


def test_renamed_array_is_re_marked_in_place_keeping_members(
    site: Site, mock_control: MockControl
) -> None:
    applied(site)
    site.remove("a1")
    site.write(Array("a1new", A1.vip, A1.members))
    result = site.plan()
    assert result.exit_code == 2, result.output
    assert "conflict" not in result.output
    assert "NickName: lmctl.a1.https → lmctl.a1new.https" in result.output
    mock_control.clear_log()
    applied(site)
    assert [c.command for c in mock_control.calls() if c.write] == ["modvs", "modvs"]
    renamed = {vs.nickname: len(vs.real_servers) for vs in site.read()}
    assert renamed == {
        "lmctl.a1new.https": 3,
        "lmctl.a1new.smtp": 3,
        "lmctl.a2.https": 3,
        "lmctl.a2.smtp": 3,
    }
    assert site.plan().exit_code == 0


def test_a_conflict_with_force_says_force_does_not_override_it(site: Site) -> None:
    applied(site)
    site.write(Array("a1", A1.vip, A1.members, services=["https", "smtp", "imap4s"]))
    imap = VirtualServiceKey(address=A1.vip, port="993")
    site.raw([("add_virtual_service", (imap,), {"params": {"NickName": "imap"}})])
    result = site.apply("--force")
    assert result.exit_code == 1
    assert "(--force does not change that); nothing was written" in result.stderr
    assert "apply needs --force" not in result.output


def test_lock_refusal_says_another_lmctl_is_applying(site: Site) -> None:
    with appliance_lock(site.state_dir, "lm-test"):
        result = site.apply()
    assert result.exit_code == 1
    lock = lock_path(site.state_dir, "lm-test")
    assert result.stdout.strip().splitlines()[-1] == (
        f"Apply incomplete: 0 writes made; another lmctl is applying to lm-test (lock {lock}): "
        "wait for it to finish, then run `lmctl apply` again."
    )
    assert "to converge" not in result.stdout


def test_one_write_is_counted_in_the_singular(site: Site) -> None:
    applied(site)
    https = VirtualServiceKey(address=A1.vip, port="443")
    site.raw([("delete_real_server", (https, "10.1.1.12", 443), {})])
    result = site.apply()
    assert result.exit_code == 0, result.output
    assert "lm-test: applying 1 write\n" in result.stdout
    assert "lm-test: 1 of 1 write done" in result.stdout
    assert result.stdout.rstrip().endswith("Apply complete: 1 write made.")


def test_an_applied_saved_plan_applied_again_has_nothing_to_do(
    site: Site, mock_control: MockControl
) -> None:
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 2
    assert site.lmctl("apply", str(saved), "--auto-approve").exit_code == 0
    mock_control.clear_log()
    again = site.lmctl("apply", str(saved), "--auto-approve")
    assert again.exit_code == 0, again.output
    assert f"{saved}: plan already applied: nothing to do" in again.stdout
    assert "drifted" not in again.output
    assert mock_control.write_count() == 0


@pytest.mark.parametrize("plan_first", [True, False])
def test_a_saved_plan_is_recognised_wherever_it_is_among_the_paths(
    site: Site, plan_first: bool
) -> None:
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 2
    moved = site.arrays_dir.rename(site.root / "checkout")
    paths = [str(saved), str(moved)] if plan_first else [str(moved), str(saved)]
    result = site.lmctl("apply", *paths, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "unknown" not in result.output
    assert "Apply complete: 16 writes made." in result.stdout


def test_plan_and_apply_take_request_timeout_not_timeout(site: Site) -> None:
    assert site.plan("--request-timeout", "2").exit_code == 2
    result = site.lmctl("plan", str(site.arrays_dir), "--timeout", "2")
    assert result.exit_code == 64  # lmctl's usage-error code
    assert "No such option: --timeout" in result.output


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_plan_and_validate_describe_spec_paths_and_format_alike(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "2000"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert SPEC_PATHS_HELP in text
    assert "Output: text, json or markdown." in text
