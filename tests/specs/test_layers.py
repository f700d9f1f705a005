"""Layer, transparency, health-check URLs, persistence and non-local members, as a real
LoadMaster takes them (Kemp: a VS is layer 7 unless Force L4; layer 4 is always transparent;
no Force L4 with cookie persistence; no transparency with non-local real servers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_files import BRANCH_2016, HQ_2010, reported, run_lmctl, write_files

from lmctl.exchange import expand_all
from lmctl.loadmaster.models import settings_params
from lmctl.specs import load_specs

LAYER_4_HTTPS = BRANCH_2016 + "overrides:\n  https: {layer: 4}\n"


def _expanded(directory: Path, files: dict[str, str]) -> dict[str, dict[str, str]]:
    """``settings_params`` of each desired VS (array/service → params) of the specs."""
    write_files(directory, files)
    spec_set = load_specs([directory])
    return {
        f"{vs.array}/{vs.service}": settings_params(vs.settings)
        for services in expand_all(spec_set).values()
        for vs in services
    }


def test_every_service_is_layer_7_non_transparent_and_subnet_originating(tmp_path: Path) -> None:
    expanded = _expanded(tmp_path, {"hq.yaml": HQ_2010, "branch.yaml": BRANCH_2016})

    for name, params in expanded.items():
        assert (params["ForceL4"], params["ForceL7"]) == ("N", "Y"), name
        assert (params["Transparent"], params["SubnetOriginating"]) == ("N", "Y"), name
    # The service type is its own setting: only the redirect is an HTTP service.
    assert expanded["hq-cas/http-redirect"]["VStype"] == "http"
    assert expanded["hq-cas/rpc"]["VStype"] == "gen"


def test_layer_4_writes_force_l4_and_leaves_transparency_alone(tmp_path: Path) -> None:
    https = _expanded(tmp_path, {"branch.yaml": LAYER_4_HTTPS})["branch-2016/https"]

    assert (https["ForceL4"], https["ForceL7"]) == ("Y", "N")
    assert "Transparent" not in https and "SubnetOriginating" not in https


def test_layer_4_warns_that_the_members_route_through_the_loadmaster(tmp_path: Path) -> None:
    outcome = run_lmctl(tmp_path, {"branch.yaml": LAYER_4_HTTPS})

    assert outcome.exit_code == 0, outcome.output
    assert reported(
        outcome,
        "branch.yaml",
        11,
        "overrides.https.layer",
        "default gateway must be the LoadMaster",
        severity="warning",
    ), outcome.output


# Each spec the appliance would not take: (spec, line, field, what validate says).
REFUSED = {
    "cookie persistence at layer 4": (
        BRANCH_2016 + "overrides:\n  https: {layer: 4, persistence: active-cookie}\n",
        11,
        "overrides.https.layer",
        "active-cookie persistence needs layer 7",
    ),
    "a URL with a tcp check": (
        BRANCH_2016 + "overrides:\n  https:\n    health_check: {type: tcp, url: /owa/}\n",
        12,
        "overrides.https.health_check.url",
        "a tcp check requests no URL",
    ),
    "persistence_timeout without persistence": (
        BRANCH_2016 + "overrides:\n  https: {persistence_timeout: 600}\n",
        11,
        "overrides.https.persistence_timeout",
        "persistence_timeout without persistence",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_spec_the_appliance_would_not_take_is_an_error(tmp_path: Path, case: str) -> None:
    spec, line, field, says = REFUSED[case]

    outcome = run_lmctl(tmp_path, {"branch.yaml": spec})

    assert outcome.exit_code == 1, outcome.output
    assert reported(outcome, "branch.yaml", line, field, says), outcome.output


def test_a_tcp_check_drops_the_profiles_url(tmp_path: Path) -> None:
    spec = BRANCH_2016 + "overrides:\n  https: {health_check: {type: tcp}}\n"

    https = _expanded(tmp_path, {"branch.yaml": spec})["branch-2016/https"]

    assert (https["CheckType"], https["CheckUrl"]) == ("tcp", "")


INVENTORY_WITH_SUBNETS = """\
appliances:
  lm-hq:
    url: mock://lm-hq
  lm-branch:
    url: mock://lm-branch
    local_subnets: [10.20.0.0/16]
"""


def test_members_outside_the_local_subnets_are_non_local(tmp_path: Path) -> None:
    spec = BRANCH_2016.replace("10.20.1.12", "10.30.0.12")
    write_files(tmp_path, {"appliances.yaml": INVENTORY_WITH_SUBNETS, "branch.yaml": spec})

    desired = expand_all(load_specs([tmp_path]))["lm-branch"]

    assert {(rs.member, rs.non_local) for rs in desired[0].real_servers} == {
        ("BR-EX01", False),
        ("BR-EX02", True),
    }


def test_a_local_subnet_written_as_an_interface_address_is_its_subnet(tmp_path: Path) -> None:
    """10.20.1.5/16 (host bits set) was refused with pydantic's bare "not a valid network";
    it is taken as 10.20.0.0/16, as ``lmctl mock serve --local-subnet`` takes it."""
    inventory = INVENTORY_WITH_SUBNETS.replace("[10.20.0.0/16]", "[10.20.1.5/16, 'fd00::1/8']")
    spec = BRANCH_2016.replace("10.20.1.12", "10.30.0.12")
    files = {"appliances.yaml": inventory, "branch.yaml": spec}

    outcome = run_lmctl(tmp_path, files)
    desired = expand_all(load_specs([tmp_path]))["lm-branch"]

    assert outcome.exit_code == 0, outcome.output
    assert {(rs.member, rs.non_local) for rs in desired[0].real_servers} == {
        ("BR-EX01", False),
        ("BR-EX02", True),
    }
    appliance = load_specs([tmp_path]).inventory.appliances["lm-branch"]
    assert [str(subnet) for subnet in appliance.local_subnets or ()] == ["10.20.0.0/16", "fd00::/8"]


def test_a_local_subnet_that_is_no_network_is_still_refused(tmp_path: Path) -> None:
    inventory = INVENTORY_WITH_SUBNETS.replace("[10.20.0.0/16]", "[10.20.0.0/33]")

    outcome = run_lmctl(tmp_path, {"appliances.yaml": inventory, "branch.yaml": BRANCH_2016})

    assert outcome.exit_code == 1, outcome.output
    assert reported(
        outcome,
        "appliances.yaml",
        6,
        "appliances.lm-branch.local_subnets[0]",
        "value is not a valid IPv4 or IPv6 network (got '10.20.0.0/33')",
    ), outcome.output


def test_a_members_own_non_local_wins_over_the_inventory(tmp_path: Path) -> None:
    spec = BRANCH_2016.replace(
        "{name: BR-EX01, address: 10.20.1.11}",
        "{name: BR-EX01, address: 10.20.1.11, non_local: true}",
    )
    write_files(tmp_path, {"appliances.yaml": INVENTORY_WITH_SUBNETS, "branch.yaml": spec})

    desired = expand_all(load_specs([tmp_path]))["lm-branch"]

    assert [rs.non_local for rs in desired[0].real_servers] == [True, False]


def test_non_local_members_at_layer_4_are_an_error(tmp_path: Path) -> None:
    spec = LAYER_4_HTTPS.replace("10.20.1.12", "10.30.0.12")

    outcome = run_lmctl(tmp_path, {"appliances.yaml": INVENTORY_WITH_SUBNETS, "branch.yaml": spec})

    assert outcome.exit_code == 1, outcome.output
    assert reported(
        outcome,
        "branch.yaml",
        9,
        "members[1].address",
        "cannot use transparency with non-local real servers",
    ), outcome.output


def test_local_subnets_and_non_local_together_are_an_error(tmp_path: Path) -> None:
    inventory = INVENTORY_WITH_SUBNETS + "    non_local: true\n"

    outcome = run_lmctl(tmp_path, {"appliances.yaml": inventory, "branch.yaml": BRANCH_2016})

    assert outcome.exit_code == 1, outcome.output
    assert "give local_subnets: or non_local: true, not both" in outcome.output
