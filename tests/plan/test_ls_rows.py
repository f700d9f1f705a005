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

from lmctl_testkit import Outcome, ServedProcess, served_mock
from mock_site import Site

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
