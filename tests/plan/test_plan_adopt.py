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

from hostile_appliance import hostile_appliance, sub_service_row
from lmctl.appliance.loadmaster import appliance_state
from lmctl.loadmaster.models import VirtualService, VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.diff import diff
from lmctl.plan.match import match_appliance
from lmctl.plan.planfile import plan_json_schema
from lmctl_testkit import certificate_pem, install_certificate
from mock_site import APPLIANCE, Array, Site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])
HTTPS = VirtualServiceKey(address=A1.vip, port="443", protocol="tcp")
OTHER_PORT = VirtualServiceKey(address=A1.vip, port="8443", protocol="tcp")
OTHER_VIP = VirtualServiceKey(address="10.1.9.50", port="443", protocol="tcp")
HEADLINE = "~ adopt 10.1.1.50:443/tcp (NickName 'Exchange-2016-HTTPS' → lmctl marker) as a1/https"


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    site = Site.open(tmp_path, mock_server, monkeypatch, A1)
    install_certificate(mock_server, "exch2016", certificate_pem(tmp_path))
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
    assert f"!     {HEADLINE[2:]}" in markdown
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
    applied = site.lmctl("apply", str(saved), "--auto-approve", "--adopt", "a1")

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


def test_adopt_names_an_array_of_the_specs_and_consents_to_a_saved_plans_adoptions(
    site: Site, mock_control: MockControl
) -> None:
    mock_control.clear_log()
    unknown = site.plan("--adopt", "nope")
    assert unknown.exit_code == 1
    assert "error: --adopt nope: no such array in the specs (arrays: a1)" in unknown.stderr
    saved = site.root / "plan.json"
    site.plan("--adopt", "a1", "--out", str(saved))
    mock_control.clear_log()
    # The plan file records no consent (adopt: true in the spec is none either: a plan can
    # name the specs it reads): --adopt is given again, before anything is read.
    adopting_spec(site)
    refused = site.lmctl("apply", str(saved), "--auto-approve")
    assert refused.exit_code == 1
    assert f"not consented: lm-test: {HEADLINE.removeprefix('~ ')}\n" in refused.stderr
    assert "apply it with --adopt a1; nothing was read or written" in refused.stderr
    assert mock_control.calls() == []
    applied = site.lmctl("apply", str(saved), "--auto-approve", "--adopt", "a1")
    assert applied.exit_code == 0, applied.output
    assert by_key(site)[HTTPS].nickname == "lmctl.a1.https"


def test_a_vs_with_subvss_is_never_adopted() -> None:
    want = desired(real_servers=members("10.0.1.21"))
    holder = observed_from(want, NickName="Exchange", SubVS=[{"VSIndex": 5, "RsIndex": 1}])
    result = diff(match_appliance([want], appliance_state([holder]), adopting=["hq"]))
    assert result.changes == ()
    (conflict,) = result.conflicts
    assert conflict.key == key()
    assert "with SubVSs, which lmctl does not manage and never adopts" in conflict.message


LEFT_ALONE = (
    "2 content rules, SSL acceleration with certificates exch2016, ESP (Edge Security Pack)"
)


@pytest.mark.parametrize(
    ("change", "found"),
    [
        ({"NRules": 3}, "3 content rules, SSL acceleration with certificates exch2016, ESP"),
        ({"EspEnabled": False}, "2 content rules, SSL acceleration with certificates exch2016'"),
        (None, f"{LEFT_ALONE}, 1 SubVS'"),
    ],
    ids=["content rule added", "ESP switched off", "SubVS added"],
)
def test_a_saved_adoption_is_stale_when_what_lmctl_leaves_alone_changed(
    site: Site, mock_control: MockControl, change: dict[str, Any] | None, found: str
) -> None:
    saved = site.root / "adopt.json"
    assert site.plan("--adopt", "a1", "--out", str(saved)).exit_code == 2
    if change is None:
        site.raw([("modify_virtual_service", (HTTPS,), {"params": {"createsubvs": ""}})])
    else:
        site.restore_with(HTTPS, change)
    before = by_key(site)
    mock_control.clear_log()

    applied = site.lmctl("apply", str(saved), "--auto-approve", "--adopt", "a1")

    assert applied.exit_code == 1, applied.output
    drifted = f"drifted: lm-test: {HTTPS} settings lmctl leaves alone: expected '{LEFT_ALONE}'"
    assert drifted in applied.stderr
    assert f"found '{found}" in applied.stderr
    assert "is stale" in applied.stderr
    assert not any(call.write for call in mock_control.calls())
    assert by_key(site) == before


def with_https_override(site: Site, **override: Any) -> None:
    path = site.arrays_dir / "a1.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**document, "overrides": {"https": override}}))


def blocked(site: Site, mock_control: MockControl, rule: str, message: str, *args: str) -> str:
    """Plan and apply (with ``args``) exit 3 on ``rule`` with ``message``, writing nothing; the
    plan's output."""
    mock_control.clear_log()
    planned = site.plan(*args)
    applied = site.apply(*args)
    for outcome in (planned, applied):
        assert outcome.exit_code == 3, outcome.output
        assert f"{message} [{rule}]" in " ".join(outcome.stdout.split())
    assert not any(call.write for call in mock_control.calls())
    return planned.stdout


def test_adopting_at_layer_4_a_vs_with_layer_7_settings_needs_force(
    site: Site, mock_control: MockControl
) -> None:
    with_https_override(site, layer=4)
    message = (
        f"lm-test: a1/https ({HTTPS}) goes to layer 4, where {LEFT_ALONE} would stop working "
        "(they work only at layer 7; lmctl leaves them alone); set the service's layer to 7 in "
        "the spec (overrides), or remove them on the appliance first"
    )

    planned = blocked(site, mock_control, "layer-7-dropped", message, "--adopt", "a1")

    assert "~ Layer: 7 → 4" in planned
    # Once adopted at layer 7, a later update to layer 4 is refused the same way.
    with_https_override(site, layer=7)
    assert site.apply("--adopt", "a1").exit_code == 0
    with_https_override(site, layer=4)
    blocked(site, mock_control, "layer-7-dropped", message)
    assert by_key(site)[HTTPS].layer == 7
    assert site.apply("--force").exit_code == 0
    assert by_key(site)[HTTPS].layer == 4


def test_deleting_an_adopted_vs_lists_what_it_destroys_and_needs_force(
    site: Site, mock_control: MockControl
) -> None:
    assert site.apply("--adopt", "a1").exit_code == 0
    site.write(Array("a1", A1.vip, A1.members, services=["smtp"]))
    message = (
        f"lm-test: deleting {HTTPS} (a1/https) destroys what lmctl does not manage and cannot "
        f"make again: {LEFT_ALONE}"
    )

    planned = blocked(site, mock_control, "unmanaged-deleted", message)

    headline = (
        f"- delete virtual service {HTTPS} (NickName 'lmctl.a1.https', 2 real servers, "
        f"{LEFT_ALONE})"
    )
    assert headline in [line.strip() for line in planned.splitlines()]
    assert site.apply("--force").exit_code == 0
    assert HTTPS not in by_key(site)


@pytest.mark.parametrize("dialect", ["v1", "v2"])
@pytest.mark.parametrize("master_vs", [0, 1], ids=["MasterVSID only", "MasterVS 1"])
def test_a_vs_whose_subvss_are_listed_only_as_rows_of_their_own_is_never_adopted(
    site: Site,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    dialect: str,
    master_vs: int,
) -> None:
    # Real firmware lists each SubVS as a row of its own too (``MasterVSID``, the capture
    # fw7.1-listvs-subvs.xml): a parent whose SubVS rows are missing still has SubVSs.
    rewrite = sub_service_row("Exchange-2016-HTTPS", 99, master_vs=master_vs)
    with hostile_appliance(mock_server, rewrite) as appliance:
        (site.arrays_dir / "appliances.yaml").write_text(appliance.inventory(APPLIANCE, dialect))
        mock_control.clear_log()
        planned = site.plan("--adopt", "a1")
        applied = site.apply("--adopt", "a1")
        notes = listed_notes(site)

    for outcome in (planned, applied):
        assert outcome.exit_code == 1, outcome.output
        assert "with SubVSs, which lmctl does not manage and never adopts" in outcome.stdout
    assert notes[HTTPS] == "wanted by a1/https, but it has SubVSs: lmctl never adopts it"
    assert not any(call.write for call in mock_control.calls())


def test_making_a_vs_with_ssl_reencryption_transparent_needs_force(
    site: Site, mock_control: MockControl
) -> None:
    site.restore_with(HTTPS, {"SSLReencrypt": True})
    with_https_override(site, transparent=True)
    message = (
        f"lm-test: a1/https ({HTTPS}) becomes transparent, and its SSL re-encryption (which lmctl "
        "leaves alone) does not work transparently; keep transparent: false for it in the spec "
        "(overrides), or turn re-encryption off on the appliance first"
    )

    planned = blocked(site, mock_control, "reencryption-made-transparent", message, "--adopt", "a1")

    assert "~ Transparent: N → Y" in planned
    assert "left as they are: SSL acceleration (re-encrypted) with certificates exch2016" in planned
    assert site.apply("--adopt", "a1", "--force").exit_code == 0
    assert by_key(site)[HTTPS].transparent
