"""``lmctl ls`` over what testers found on seeded appliances (issue 13 review): every VS is
listed, a duplicated key is conflicting whether or not a spec wants it, a marker carried on
another VIP is described as plan acts on it, and long NickNames are shortened in text only.
Against ``lmctl mock serve --seed-listvs`` run as a process, over HTTPS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_import_review import import_all

from lmctl_testkit import Outcome, ServedProcess, served_mock
from mock_site import Array, Site

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "import13"


@pytest.fixture
def hostile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Site, ServedProcess]]:
    """The tester's hostile appliance: hostile NickNames on 10.10.1.50, a key listed twice on
    10.10.1.60."""
    with served_mock("--seed-listvs", str(SEEDS / "hostile50.json")) as served:
        yield Site.open(tmp_path, served, monkeypatch), served


def rows(result: Outcome) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    (appliance,) = json.loads(result.stdout)["appliances"]
    found: list[dict[str, Any]] = appliance["virtual_services"]
    return found


def test_a_key_listed_twice_is_two_conflicting_rows_even_when_no_spec_wants_it(
    hostile: tuple[Site, ServedProcess],
) -> None:
    site, _ = hostile
    listed = rows(site.lmctl("ls", str(site.arrays_dir), "--format", "json"))
    twice = [vs for vs in listed if vs["key"]["address"] == "10.10.1.60"]
    note = "10.10.1.60:443/tcp is listed 2 times by the appliance (Index 108, 111)"
    assert [(vs["index"], vs["nickname"], vs["category"], vs["note"]) for vs in twice] == [
        (114, "dupsmtp", "foreign", ""),
        (108, "dup1", "conflicting", note),
        (111, "dup2", "conflicting", note),
    ]
    text = site.lmctl("ls", str(site.arrays_dir))
    assert "'dup2'" in text.stdout


@pytest.fixture
def marked_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Site, ServedProcess]]:
    """Exchange on 10.10.1.50 (443, 25) built by hand, and a VS on 10.10.1.90:443 named exactly
    like the marker import's array for 10.10.1.50 would have."""
    with served_mock("--seed-listvs", str(SEEDS / "mark.json")) as served:
        yield Site.open(tmp_path, served, monkeypatch), served


def test_a_marker_already_carried_elsewhere_is_warned_by_import_and_listed_as_plan_acts(
    marked_elsewhere: tuple[Site, ServedProcess],
) -> None:
    site, _ = marked_elsewhere
    text = import_all(site)
    assert text.exit_code == 0, text.output
    warning = (
        "warning: array vip-10-10-1-50: its marker lmctl.vip-10-10-1-50.https is already "
        "carried by 10.10.1.90:443/tcp"
    )
    assert warning in text.output
    document = json.loads(import_all(site, "--overwrite", "--format", "json").stdout)
    assert any(warning.removeprefix("warning: ") in w for w in document["warnings"])

    # Plan with adoption adopts 10.10.1.50's VSs and deletes the carrier: the array is not
    # "deleted" (it adopts 2 VSs).
    adopt = site.plan("--adopt", "vip-10-10-1-50")
    assert adopt.exit_code == 2, adopt.output
    assert "- delete virtual service 10.10.1.90:443/tcp" in adopt.stdout
    assert "array-deleted" not in adopt.output, adopt.output
    assert "would stop serving" not in adopt.output, adopt.output

    # Without adoption the key is a conflict and plan leaves the carrier: ls says so.
    assert "10.10.1.90" not in site.plan().stdout
    listed = rows(site.lmctl("ls", str(site.arrays_dir), "--format", "json"))
    (carrier,) = [vs for vs in listed if vs["key"]["address"] == "10.10.1.90"]
    assert carrier["note"] == (
        "10.10.1.50:443/tcp is held by another VS (a conflict): the next plan leaves this one; "
        "once vip-10-10-1-50 adopts that VS, the plan deletes this one"
    )
    spec = site.arrays_dir / "vip-10-10-1-50.yaml"
    spec.write_text(spec.read_text() + "adopt: true\n")
    listed = rows(site.lmctl("ls", str(site.arrays_dir), "--format", "json"))
    (carrier,) = [vs for vs in listed if vs["key"]["address"] == "10.10.1.90"]
    assert "the next plan deletes it" in carrier["note"]


def test_a_long_nickname_is_shortened_in_ls_and_plan_text_and_whole_in_json(
    hostile: tuple[Site, ServedProcess],
) -> None:
    """10.10.1.50:80's NickName is over 5,000 characters; a spec wants that key."""
    site, _ = hostile
    site.write(Array("a50", "10.10.1.50", ["10.10.1.11"], services=["https", "http-redirect"]))
    listed = rows(site.lmctl("ls", str(site.arrays_dir), "--format", "json"))
    (redirect,) = [vs for vs in listed if vs["key"]["port"] == "80"]
    length = len(redirect["nickname"])
    assert length > 5000 and redirect["nickname"].endswith("HHHH")
    shown = f"… ({length} characters)"
    text = site.lmctl("ls", str(site.arrays_dir))
    plan = site.plan()
    markdown = site.plan("--format", "markdown")
    for run in (text, plan, markdown):
        assert "HHHHHHHHHH" not in run.output, run.output[:3000]
    for run in (plan, markdown):
        assert shown in run.stdout, run.stdout[:3000]
    # The table folds the column: its length is there, whatever the line breaks.
    assert f"({length}characters)" in "".join(text.stdout.split())
    assert "H" * 4000 in site.plan("--format", "json").stdout
