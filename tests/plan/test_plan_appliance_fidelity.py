"""What a real LoadMaster does with what lmctl writes, against the served mock over pinned HTTPS
(which follows the appliance: layer 7 unless ForceL4, ``Layer`` from the force flags, NickNames
in Kemp's character set, real servers outside the local subnets only with ``non_local=1``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from mock_site import APPLIANCE, Array, Site

NICKNAME = re.compile(r"^[A-Za-z0-9.@_-]+$")
PLAIN = Array("plain", "10.10.1.50", ["10.10.1.11", "10.10.1.12"])
FORCED = Array("forced", "10.10.2.50", ["10.10.2.11", "10.10.2.12"])
PLAIN_HTTPS = VirtualServiceKey(address="10.10.1.50", port="443", protocol="tcp")


def write_spec(site: Site, array: Array, **extra: Any) -> None:
    """Write ``array``'s spec with ``extra`` keys (e.g. ``overrides``)."""
    path = site.arrays_dir / f"{array.name}.yaml"
    path.write_text(yaml.safe_dump({**array.spec(), **extra}, sort_keys=False))


def edit_inventory(site: Site, **settings: Any) -> None:
    """Add ``settings`` to the test appliance's inventory entry."""
    path = site.arrays_dir / "appliances.yaml"
    document = yaml.safe_load(path.read_text())
    document["appliances"][APPLIANCE].update(settings)
    path.write_text(yaml.safe_dump(document))


def params(call_params: dict[str, str]) -> dict[str, str]:
    """A call's parameters by lower-case name (the appliance reads them case-insensitively)."""
    return {name.lower(): value for name, value in call_params.items()}


@pytest.fixture
def applied(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> Site:
    """Two arrays applied from empty: one with lmctl's defaults, one with https at layer 4."""
    site = Site.open(tmp_path, mock_server, monkeypatch, PLAIN)
    write_spec(site, FORCED, overrides={"https": {"layer": 4}})
    outcome = site.apply()
    assert outcome.exit_code == 0, outcome.output
    return site


def test_every_addvs_says_its_layer_and_every_nickname_is_one_kemp_accepts(
    applied: Site, mock_control: MockControl
) -> None:
    writes = [call for call in mock_control.calls() if call.applied_write]
    created = [params(call.params) for call in writes if call.command == "addvs"]

    assert len(created) == 4
    for sent in created:
        assert {sent["forcel4"], sent["forcel7"]} == {"Y", "N"}, sent
    nicknames = [params(call.params).get("nickname") for call in writes]
    assert all(NICKNAME.match(name) for name in nicknames if name is not None), nicknames


def test_the_layer_read_back_raw_is_the_specs(applied: Site) -> None:
    layers = {vs.nickname: vs.layer for vs in applied.read()}

    assert layers == {
        "lmctl.plain.https": 7,
        "lmctl.plain.smtp": 7,
        "lmctl.forced.https": 4,
        "lmctl.forced.smtp": 7,
    }


def test_a_vs_forced_to_layer_4_by_hand_is_planned_and_repaired_with_one_write(
    applied: Site, mock_control: MockControl
) -> None:
    applied.raw([("modify_virtual_service", (PLAIN_HTTPS, {"ForceL4": "1"}), {})])
    assert {vs.nickname: vs.layer for vs in applied.read()}["lmctl.plain.https"] == 4

    planned = applied.plan()
    assert planned.exit_code == 2, planned.output
    assert "Layer: 4 → 7" in planned.output

    mock_control.clear_log()
    repaired = applied.apply()
    assert repaired.exit_code == 0, repaired.output
    writes = [call for call in mock_control.calls() if call.applied_write]
    assert [call.command for call in writes] == ["modvs"]
    assert {vs.nickname: vs.layer for vs in applied.read()}["lmctl.plain.https"] == 7
    assert applied.plan().exit_code == 0


def test_members_outside_the_local_subnets_need_non_local(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As ``lmctl mock serve --local-subnet 10.10.0.0/16``.
    mock_control.set_local_subnets(["10.10.0.0/16"])
    remote = Array("remote", "10.10.3.50", ["10.30.0.11", "10.30.0.12"], services=["https"])
    site = Site.open(tmp_path, mock_server, monkeypatch, remote)

    refused = site.apply()
    assert refused.exit_code == 4, refused.output
    assert "refused addrs" in refused.output, refused.output
    assert "list the appliance's subnets as local_subnets:" in refused.output
    assert "fix what the appliance refused or what failed (above)" in refused.output
    assert not any(vs.real_servers for vs in site.read())

    edit_inventory(site, local_subnets=["10.10.0.0/16"])
    planned = site.plan()
    assert "non-local" in planned.output, planned.output
    mock_control.clear_log()
    applied = site.apply()
    assert applied.exit_code == 0, applied.output
    added = [params(c.params) for c in mock_control.calls() if c.command == "addrs"]
    assert [(rs["rs"], rs["non_local"]) for rs in added] == [
        ("10.30.0.11", "1"),
        ("10.30.0.12", "1"),
    ]
    (vs,) = site.read()
    assert sorted(rs.address for rs in vs.real_servers) == ["10.30.0.11", "10.30.0.12"]
