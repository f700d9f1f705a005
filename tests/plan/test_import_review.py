"""``lmctl import`` over what a tester found (issue 13 review), against ``lmctl mock serve
--seed-listvs`` run as a process over HTTPS: the written YAML is ASCII (notes included), one
member is "1 member"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmctl_testkit import Outcome, served_mock
from mock_site import Site

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "import13"


def served_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: Path) -> Iterator[Site]:
    with served_mock("--seed-listvs", str(seed)) as served:
        yield Site.open(tmp_path, served, monkeypatch)


def import_all(site: Site, *more: str) -> Outcome:
    inventory = str(site.arrays_dir / "appliances.yaml")
    return site.lmctl(
        "import",
        "--appliance",
        "lm-test",
        "--inventory",
        inventory,
        "--out",
        str(site.arrays_dir),
        "--site",
        "HQ",
        "--exchange",
        "2016 CU23",
        "--fqdn",
        "mail.corp.example.com",
        *more,
    )


@pytest.fixture
def one_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The tester's hand-built 10.10.1.50 (https schedules lc, the rest rr), one real server
    per VS, a NickName with a non-ASCII letter."""
    document = json.loads((SEEDS / "built.json").read_text())
    for vs in document["VS"]:
        vs["Rs"] = vs.get("Rs", [])[:1]
        vs["NumberOfRSs"] = len(vs["Rs"])
        if vs["VSPort"] == "25":
            vs["NickName"] = "Exch SMTP Zürich"
            vs["Schedule"] = "lc"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(document))
    yield from served_site(tmp_path, monkeypatch, seed)


def test_the_written_spec_is_ascii_and_one_member_is_singular(one_member: Site) -> None:
    site = one_member
    result = import_all(site)
    assert result.exit_code == 0, result.output
    assert "vip-10-10-1-50 (https, smtp; 1 member)" in result.stdout, result.stdout
    written = (site.arrays_dir / "vip-10-10-1-50.yaml").read_bytes()
    assert written.isascii(), [line for line in written.decode().splitlines() if not line.isascii()]
    assert b"Schedule: rr -> lc" in written or b"Schedule: lc -> rr" in written
