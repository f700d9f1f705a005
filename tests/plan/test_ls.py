"""``lmctl ls`` against the served mock over HTTPS: each category, text and JSON (schema)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from plan_builders import desired, members, observed_from, unmarked
from plan_builders import key as builders_key
from rich.console import Console
from typer.testing import CliRunner

from lmctl.appliance.loadmaster import appliance_state
from lmctl.cli.app import app
from lmctl.cli.listing import _table
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.listing import list_appliance
from lmctl_testkit import Outcome
from mock_site import Array, Site

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "schema" / "ls.schema.json"

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])
A2 = Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12"])
A3 = Array("a3", "10.1.3.50", ["10.1.3.11", "10.1.3.12"])


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch, A1, A3)


def printed_schema() -> dict[str, object]:
    result = CliRunner().invoke(app, ["schema", "--kind", "ls"])
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_committed_ls_schema_equals_lmctl_schema_kind_ls() -> None:
    committed = json.loads(COMMITTED.read_text())
    assert committed == printed_schema(), "regenerate: lmctl schema --kind ls > docs/schema/..."
    assert "docs/schema/ls.schema.json" in (REPO / "docs" / "adoption.md").read_text()


def listed(site: Site, result: Outcome | None = None) -> dict[str, Any]:
    """``lmctl ls --format json`` of the site's specs (or its ``result``): exit 0, valid by the
    schema."""
    result = result or site.lmctl("ls", str(site.arrays_dir), "--format", "json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(document, printed_schema())
    return document


def key(address: str, port: str) -> VirtualServiceKey:
    return VirtualServiceKey(address=address, port=port, protocol="tcp")


def test_ls_puts_every_virtual_service_in_its_category(
    site: Site, mock_control: MockControl
) -> None:
    assert site.apply().exit_code == 0
    # By hand: an Exchange VS on the key a2 wants, another on a port no spec wants, and an
    # unrelated service elsewhere.
    site.raw(
        [
            ("add_virtual_service", (key(A2.vip, "443"),), {"params": {"NickName": "Exch-HTTPS"}}),
            ("add_virtual_service", (key(A2.vip, "8080"),), {"params": {"NickName": "intranet"}}),
            ("add_virtual_service", (key("10.1.9.9", "22"),), {"params": {}}),
        ]
    )
    # a3's VIP moves to .4.50 while a2 wants a3's old VIP: a3's marked VSs stay a3's (plan moves
    # them), but the one on 443 holds a key a2 wants.
    site.write(
        Array("a2", A3.vip, A2.members, services=["https"]),
        Array("a3", "10.1.4.50", A3.members),
        Array("a1", A1.vip, A1.members, services=["https"]),
    )
    mock_control.clear_log()

    document = listed(site)

    (appliance,) = document["appliances"]
    rows = {
        (vs["key"]["address"], vs["key"]["port"]): (
            vs["category"],
            vs["array"],
            vs["service"],
            vs["note"],
        )
        for vs in appliance["virtual_services"]
    }
    assert rows == {
        (A1.vip, "443"): ("lmctl", "a1", "https", ""),
        (A1.vip, "25"): ("lmctl", "a1", "smtp", "not in the specs: the next plan deletes it"),
        (A3.vip, "443"): ("conflicting", "a2", "https", "held by array a3, wanted by a2"),
        (A3.vip, "25"): ("lmctl", "a3", "smtp", "the next plan moves it to 10.1.4.50:25/tcp"),
        (A2.vip, "443"): ("foreign", None, None, ""),
        (A2.vip, "8080"): ("foreign", None, None, ""),
        ("10.1.9.9", "22"): ("foreign", None, None, ""),
    }
    assert appliance["counts"] == {"lmctl": 3, "adoptable": 0, "conflicting": 1, "foreign": 3}
    assert [c.command for c in mock_control.calls()] == ["listvs"]

    # a2 back on its own VIP: the hand-made VS on its https key is adoptable.
    site.write(A2, A3)
    text = site.lmctl("ls", str(site.arrays_dir))
    assert text.exit_code == 0, text.output
    line = next(line for line in text.stdout.splitlines() if "10.1.2.50:443/tcp" in line)
    assert "'Exch-HTTPS'" in line
    assert "adoptable" in line
    assert "a2/https" in line
    assert "Appliance lm-test (4 lmctl, 1 adoptable, 0 conflicting, 2 foreign)" in text.stdout
    assert not any(c.write for c in mock_control.calls())


def test_ls_refuses_markdown_before_reading_anything(site: Site, mock_control: MockControl) -> None:
    mock_control.clear_log()
    result = site.lmctl("ls", str(site.arrays_dir), "--format", "markdown")
    assert result.exit_code == 1
    assert "error: lmctl ls prints text or json" in result.stderr
    assert mock_control.calls() == []


def test_ls_calls_what_lmctl_cannot_tell_apart_conflicting() -> None:
    want = desired(real_servers=members("10.0.1.21"))
    twice = [unmarked("10.0.1.10", "443", index=7), unmarked("10.0.1.10", "443", index=3)]
    moved = desired(at=builders_key("10.0.1.99"), real_servers=members("10.0.1.21"))
    carriers = [observed_from(want, index=4, at=builders_key("10.0.1.11"))]
    carriers.append(observed_from(want, index=5, at=builders_key("10.0.1.12")))

    listed = list_appliance("lm-hq", [want], appliance_state(twice), adopting=["hq"])
    carried = list_appliance("lm-hq", [moved], appliance_state(carriers))

    # One row per VS at the key, each conflicting.
    assert [vs.index for vs in listed.virtual_services] == [3, 7]
    for row in listed.virtual_services:
        assert (row.category, row.array, row.service) == ("conflicting", "hq", "https")
        assert row.note == "10.0.1.10:443/tcp is listed 2 times by the appliance (Index 3, 7)"
    assert [vs.category for vs in carried.virtual_services] == ["conflicting", "conflicting"]
    assert carried.virtual_services[0].note.startswith("its marker is carried by 2 virtual")


def test_ls_leaves_out_a_spec_still_to_fill_in_and_says_so(
    site: Site, mock_control: MockControl
) -> None:
    assert site.apply().exit_code == 0
    half = site.arrays_dir / "vip-10-1-5-50.yaml"
    document = {**A2.spec(), "name": "vip-10-1-5-50", "vip": "10.1.5.50"}
    document["site"] = "FILL IN: the Active Directory site of the array, e.g. HQ"
    half.write_text(json.dumps(document))
    mock_control.clear_log()

    result = site.lmctl("ls", str(site.arrays_dir), "--format", "json")

    listing = listed(site, result)
    (appliance,) = listing["appliances"]
    assert appliance["counts"]["lmctl"] == 4
    ((left_out),) = listing["left_out"]
    assert left_out["file"] == str(half)
    assert "error: site: the Active Directory site of the array" in left_out["error"]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("left out ")]
    assert line.startswith(f"left out {half} (its VSs are listed as if it were not in the specs")
    text = site.lmctl("ls", str(site.arrays_dir))
    assert text.exit_code == 0, text.output
    assert "Appliance lm-test (4 lmctl, 0 adoptable, 0 conflicting, 0 foreign)" in text.stdout
    assert [c.command for c in mock_control.calls()] == ["listvs", "listvs"]
    # What every command needs stays an error: a broken inventory, and plan of the same specs.
    assert site.plan().exit_code == 1
    (site.arrays_dir / "appliances.yaml").write_text("appliances: [\n")
    broken = site.lmctl("ls", str(site.arrays_dir))
    assert broken.exit_code == 1
    assert "nothing was read or written" in broken.stderr


def test_the_ls_table_keeps_the_key_whole_at_80_columns() -> None:
    want = desired(real_servers=members("10.0.1.21"))
    hand_made = [
        unmarked("10.0.1.10", "443", index=1),
        unmarked("10.100.200.250", "65535", index=2),
    ]
    listed = list_appliance("lm-hq", [want], appliance_state(hand_made))
    terminal = io.StringIO()

    Console(file=terminal, width=80).print(_table(listed))

    lines = terminal.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any("10.0.1.10:443/tcp" in line for line in lines)
    assert any("10.100.200.250:65535/tcp" in line for line in lines)


def test_ls_lists_a_vips_services_in_the_specs_order(site: Site) -> None:
    assert site.apply().exit_code == 0
    document = listed(site)

    (appliance,) = document["appliances"]
    a1 = [vs["service"] for vs in appliance["virtual_services"] if vs["array"] == "a1"]
    assert a1 == ["https", "smtp"]  # the spec's order (smtp's port 25 sorts before 443)
