"""Explicit adoption (issue 13): an unmarked VS on exactly a key an array wants is taken over only
when the array adopts (``adopt: true`` or ``--adopt``); over real HTTPS against the mock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from plan_builders import desired, key, members, observed_from

from lmctl.appliance.loadmaster import appliance_state
from lmctl.loadmaster.models import VirtualService, VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.diff import diff
from lmctl.plan.match import match_appliance
from lmctl.plan.planfile import plan_json_schema
from mock_site import Array, Site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])
HTTPS = VirtualServiceKey(address=A1.vip, port="443", protocol="tcp")
OTHER_PORT = VirtualServiceKey(address=A1.vip, port="8443", protocol="tcp")
OTHER_VIP = VirtualServiceKey(address="10.1.9.50", port="443", protocol="tcp")
HEADLINE = "~ adopt 10.1.1.50:443/tcp (NickName 'Exchange-2016-HTTPS' → lmctl marker) as a1/https"


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    site = Site.open(tmp_path, mock_server, monkeypatch, A1)
    # Built by hand before lmctl: a1's https VS with both members, a certificate, two content
    # rules and ESP; beside it, a VS on another port of the same VIP and one on another VIP.
    site.raw(
        [
            (
                "add_virtual_service",
                (HTTPS,),
                {
                    "params": {
                        "NickName": "Exchange-2016-HTTPS",
                        "Idletime": "600",
                        "SSLAcceleration": "Y",
                        "CertFile": "exch2016",
                    }
                },
            ),
            *(
                ("add_real_server", (HTTPS, address, 443), {})
                for address in ("10.1.1.11", "10.1.1.12")
            ),
            ("add_virtual_service", (OTHER_PORT,), {"params": {"NickName": "Exchange-admin"}}),
            ("add_real_server", (OTHER_PORT, "10.1.1.11", 8443), {}),
            ("add_virtual_service", (OTHER_VIP,), {"params": {"NickName": "Exchange-2016-HTTPS"}}),
        ]
    )
    site.restore_with(HTTPS, {"NRules": 2, "EspEnabled": True})
    return site


def by_key(site: Site) -> dict[VirtualServiceKey | None, VirtualService]:
    return {vs.key: vs for vs in site.read()}


def listed_notes(site: Site) -> dict[VirtualServiceKey, str]:
    listed = json.loads(site.lmctl("ls", str(site.arrays_dir), "--format", "json").stdout)
    rows = listed["appliances"][0]["virtual_services"]
    return {VirtualServiceKey.model_validate(vs["key"]): vs["note"] for vs in rows}


def adopting_spec(site: Site) -> None:
    path = site.arrays_dir / "a1.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**document, "adopt": True}, sort_keys=False))


def test_without_adoption_the_hand_built_vs_stays_a_conflict(
    site: Site, mock_control: MockControl
) -> None:
    before = by_key(site)
    mock_control.clear_log()
    planned = site.plan()
    assert planned.exit_code == 1, planned.output
    assert "held by the VS named 'Exchange-2016-HTTPS'" in planned.stdout
    assert "adopt it (adopt: true in the spec, or --adopt a1)" in planned.stdout
    assert "adopt 10.1.1.50" not in planned.stdout
    applied = site.apply()
    assert applied.exit_code == 1
    assert not any(call.write for call in mock_control.calls())
    assert by_key(site) == before


def test_adopt_takes_over_exactly_the_wanted_key_in_one_modvs(
    site: Site, mock_control: MockControl
) -> None:
    before = by_key(site)

    planned = site.plan("--adopt", "a1")

    assert planned.exit_code == 2, planned.output
    lines = [line.strip() for line in planned.stdout.splitlines()]
    at = lines.index(HEADLINE)
    assert lines[at + 1 : at + 7] == [
        "~ Idletime: 600 → 3600",
        "~ CheckType: tcp → https",
        "~ CheckUrl: (unset) → /owa/healthcheck.htm",
        "left as they are: 2 content rules",
        "left as they are: SSL acceleration with certificates exch2016",
        "left as they are: ESP (Edge Security Pack)",
    ]
    assert "Plan: 1 to adopt, 1 to create, 0 to update, 0 to delete (virtual services)" in (
        planned.stdout
    )
    markdown = site.plan("--adopt", "a1", "--format", "markdown").stdout
    assert f"~     {HEADLINE[2:]}" in markdown
    assert "      left as they are: 2 content rules" in markdown
    saved = site.root / "adopt.json"
    document = json.loads(site.plan("--adopt", "a1", "--format", "json").stdout)
    jsonschema.validate(document, plan_json_schema())
    (adoption,) = [c for c in document["appliances"][0]["changes"] if c["action"] == "adopt_vs"]
    assert adoption["key"]["port"] == "443"
    assert adoption["left_alone"][0] == "2 content rules"
    assert document["summary"]["adopt_vs"] == 1
    assert site.plan("--adopt", "a1", "--out", str(saved)).exit_code == 2

    mock_control.clear_log()
    applied = site.lmctl("apply", str(saved), "--auto-approve")

    assert applied.exit_code == 0, applied.output
    writes = [(c.command, c.params.get("port")) for c in mock_control.calls() if c.write]
    assert writes.count(("modvs", "443")) == 1
    assert [command for command, _ in writes] == ["modvs", "addvs", "addrs", "addrs"]
    after = by_key(site)
    assert after[OTHER_PORT] == before[OTHER_PORT]
    assert after[OTHER_VIP] == before[OTHER_VIP]
    adopted = after[HTTPS]
    assert adopted.nickname == "lmctl.a1.https"
    assert adopted.index == before[HTTPS].index
    assert (adopted.cert_files, adopted.content_rules, adopted.esp_enabled) == (
        ("exch2016",),
        2,
        True,
    )
    assert site.plan().exit_code == 0

    # Later changes write only what lmctl manages: the certificate, rules and ESP stay.
    site.write(Array("a1", A1.vip, A1.members, scheduling="lc"))
    assert site.apply().exit_code == 0
    changed = by_key(site)[HTTPS]
    assert changed.schedule == "lc"
    assert (changed.cert_files, changed.content_rules, changed.esp_enabled) == (
        ("exch2016",),
        2,
        True,
    )


def test_adopt_true_in_the_spec_adopts_and_ls_says_so(site: Site) -> None:
    assert listed_notes(site)[HTTPS].startswith(
        "wanted by a1/https: a conflict until the array adopts it"
    )
    adopting_spec(site)
    assert listed_notes(site)[HTTPS] == "the next plan adopts it for a1/https"
    assert listed_notes(site)[OTHER_PORT] == ""
    assert site.apply().exit_code == 0
    assert by_key(site)[HTTPS].nickname == "lmctl.a1.https"
    assert by_key(site)[OTHER_PORT].nickname == "Exchange-admin"


def test_adopt_names_an_array_of_the_specs_and_not_a_saved_plan(
    site: Site, mock_control: MockControl
) -> None:
    mock_control.clear_log()
    unknown = site.plan("--adopt", "nope")
    assert unknown.exit_code == 1
    assert "error: --adopt nope: no such array in the specs (arrays: a1)" in unknown.stderr
    saved = site.root / "plan.json"
    site.plan("--out", str(saved))
    mock_control.clear_log()
    refused = site.lmctl("apply", str(saved), "--auto-approve", "--adopt", "a1")
    assert refused.exit_code == 1
    assert "--adopt plans an adoption" in refused.stderr
    assert mock_control.calls() == []


def test_a_vs_with_subvss_is_never_adopted() -> None:
    want = desired(real_servers=members("10.0.1.21"))
    holder = observed_from(want, NickName="Exchange", SubVS=[{"VSIndex": 5, "RsIndex": 1}])
    result = diff(match_appliance([want], appliance_state([holder]), adopting=["hq"]))
    assert result.changes == ()
    (conflict,) = result.conflicts
    assert conflict.key == key()
    assert "with SubVSs, which lmctl does not manage and never adopts" in conflict.message
