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
    assert "vip-10-10-1-50 (https, http-redirect, smtp; 1 member)" in result.stdout
    written = (site.arrays_dir / "vip-10-10-1-50.yaml").read_bytes()
    assert written.isascii(), [line for line in written.decode().splitlines() if not line.isascii()]


@pytest.fixture
def adopted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """10.10.1.50 after its https VS was adopted: 443 carries lmctl's marker, 25 (SMTP) and the
    redirect on 80 are still hand-built."""
    document = json.loads((SEEDS / "built.json").read_text())
    for vs in document["VS"]:
        if (vs["VSAddress"], vs["VSPort"]) == ("10.10.1.50", "443"):
            vs["NickName"] = "lmctl.vip-10-10-1-50.https"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(document))
    yield from served_site(tmp_path, monkeypatch, seed)


def test_a_vip_an_lmctl_array_serves_is_skipped_pointing_at_its_spec_even_with_overwrite(
    adopted: Site,
) -> None:
    site = adopted
    spec = site.arrays_dir / "vip-10-10-1-50.yaml"
    spec.write_text("# the admin's reviewed spec of vip-10-10-1-50\n")

    result = import_all(site, "--overwrite", "--format", "json")

    assert result.exit_code == 0, result.output
    assert spec.read_text() == "# the admin's reviewed spec of vip-10-10-1-50\n"
    document = json.loads(result.stdout)
    assert document["written"] == []
    reasons = {(s["key"]["address"], s["key"]["port"]): s["reason"] for s in document["skipped"]}
    assert reasons[("10.10.1.50", "25")] == (
        "its VIP serves lmctl's array vip-10-10-1-50 already: add smtp to the services of "
        "vip-10-10-1-50's spec and plan with --adopt vip-10-10-1-50"
    )
    assert "no sign of Exchange" not in reasons[("10.10.1.50", "25")]
    assert reasons[("10.10.1.50", "443")] == "already lmctl's (vip-10-10-1-50/https)"


def test_a_redirect_scheduling_otherwise_is_adopted_and_a_real_skip_says_what_to_do(
    one_member: Site,
) -> None:
    """The fixed redirect on 80 schedules rr, the array lc: no real server, so no effect."""
    site = one_member
    result = import_all(site, "--format", "json")
    assert result.exit_code == 0, result.output
    (written,) = json.loads(result.stdout)["written"]
    assert written["services"] == ["https", "http-redirect", "smtp"]
    planned = site.plan("--adopt", "vip-10-10-1-50", "--format", "json")
    changes = json.loads(planned.stdout)["appliances"][0]["changes"]
    assert [(c["action"], [f["field"] for f in c["fields"]]) for c in changes] == [
        ("adopt_vs", ["nickname"])
    ] * 3
    assert site.apply("--adopt", "vip-10-10-1-50").exit_code == 0
    again = site.plan("--adopt", "vip-10-10-1-50")
    assert again.exit_code == 0, again.output  # nothing left to do: no Schedule flapping
    redirect = next(vs for vs in site.read() if vs.key is not None and vs.key.port == "80")
    assert redirect.schedule == "rr", "the redirect keeps its own Schedule"


@pytest.fixture
def smtp_rr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The tester's 10.10.1.50: https schedules lc (so the array does), SMTP rr."""
    document = json.loads((SEEDS / "built.json").read_text())
    for vs in document["VS"]:
        if vs["VSPort"] == "25":
            vs["Schedule"] = "rr"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(document))
    yield from served_site(tmp_path, monkeypatch, seed)


def test_a_skip_for_what_a_spec_cannot_say_ends_with_what_the_admin_can_do(
    smtp_rr: Site,
) -> None:
    site = smtp_rr
    result = import_all(site, "--format", "json")
    reasons = {s["key"]["port"]: s["reason"] for s in json.loads(result.stdout)["skipped"]}
    assert reasons["25"].endswith(
        "lmctl leaves it as it is: set Schedule to lc on the appliance and import again, or add "
        "the service to the spec and let the plan change it"
    ), reasons["25"]
    written = (site.arrays_dir / "vip-10-10-1-50.yaml").read_bytes()
    assert written.isascii()
    assert b"Schedule: rr -> lc" in written
