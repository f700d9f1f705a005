"""Over real HTTPS on loopback: an appliance that answers malformed ``listvs`` replies (a hostile
HTTPS server in front of the served mock, ``hostile_appliance``) makes ``lmctl plan``, ``apply``
and ``status`` print one ``error:`` line naming the appliance and exit non-zero, and the
appliance receives no write (issue 11, findings 5 and 8), in both dialects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hostile_appliance import (
    HostileAppliance,
    Rewrite,
    drop,
    duplicate,
    hostile_appliance,
    replace,
    web_page,
)
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import Outcome
from mock_site import APPLIANCE, Array, Site

HQ = Array("hq", "10.40.0.10", ["10.40.0.21", "10.40.0.22"], services=["https"])
MARKER = "lmctl.hq.https"
KEY = "10.40.0.10:443/tcp"


def unchanged(dialect: str, body: bytes) -> bytes:
    return body


@pytest.fixture(params=["v1", "v2"])
def dialect(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def site(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> Site:
    """Array ``hq`` applied on the served mock; the call log cleared."""
    site = Site.open(tmp_path, mock_server, monkeypatch, HQ)
    assert site.apply().exit_code == 0
    mock_control.clear_log()
    return site


@pytest.fixture
def hostile(site: Site, mock_server: MockServerHandle, dialect: str) -> Iterator[HostileAppliance]:
    """The hostile appliance in front of the mock, named ``lm-test`` in the site's inventory."""
    with hostile_appliance(mock_server, unchanged) as appliance:
        (site.arrays_dir / "appliances.yaml").write_text(appliance.inventory(APPLIANCE, dialect))
        yield appliance


def reported(outcome: Outcome, text: str) -> str:
    """The one line of a failed run that says ``text`` (nothing like a traceback around it):
    plan and apply print it as their ``error:`` line, status as the unreadable appliance."""
    assert outcome.exit_code != 0, outcome.output
    assert "Traceback" not in outcome.output
    lines = [line for line in outcome.output.splitlines() if text in line]
    assert len(lines) == 1, outcome.output
    return lines[0]


def plan_apply_status(site: Site) -> list[Outcome]:
    return [
        site.plan(),
        site.apply(),
        site.lmctl("status", str(site.arrays_dir), "--request-timeout", "3"),
    ]


MALFORMED = "lm-test answered listvs with a malformed reply: "


@pytest.mark.parametrize(
    ("rewrite", "problem"),
    [
        (drop(MARKER, "VSPort"), "VS row Index 1 has no VSPort"),
        (drop(MARKER, "VSAddress"), "VS row Index 1 has no VSAddress"),
        (drop(MARKER, "Protocol"), "VS row Index 1 has no Protocol"),
        (replace(MARKER, "VSPort", "99999"), "VS row Index 1 has VSPort 99999"),
        (replace(MARKER, "Index", -1), "VS row 1 has Index -1"),
        (
            replace(MARKER, "Rs.Weight", -5),
            "VS row Index 1 has a real server 10.40.0.21:443 with Weight -5",
        ),
        # A zone ID: Python's ipaddress takes any text after ``%``, newlines too.
        (
            replace(MARKER, "VSAddress", "fe80::1%\n? adopt"),
            "VS row Index 1 has VSAddress 'fe80::1%\\n? adopt', not an IP address",
        ),
        (
            replace(MARKER, "Rs.Addr", "fe80::21%eth0"),
            "VS row Index 1 has a real server Addr 'fe80::21%eth0', not an IP address",
        ),
    ],
    ids=[
        "no VSPort",
        "no VSAddress",
        "no Protocol",
        "VSPort 99999",
        "Index -1",
        "weight -5",
        "VSAddress zone ID",
        "Addr zone ID",
    ],
)
def test_a_malformed_row_stops_plan_apply_and_status_with_nothing_written(
    site: Site,
    hostile: HostileAppliance,
    mock_control: MockControl,
    rewrite: Rewrite,
    problem: str,
) -> None:
    hostile.rewrite = rewrite
    plan, apply, status = plan_apply_status(site)
    for outcome in (plan, apply):
        assert reported(outcome, MALFORMED + problem).startswith("error: ")
    shown = reported(status, MALFORMED + problem)
    assert shown.strip().startswith(f"appliance lm-test could not be read: {MALFORMED}{problem}")
    assert mock_control.write_count() == 0


# (what an operator changed on the appliance, the elements the hostile reply then leaves out):
# read with a default in their place, each row looked like the spec again and plan saw nothing.
Drift = tuple[str, tuple[Any, ...], dict[str, Any]]
VS_AT_KEY = VirtualServiceKey(address="10.40.0.10", port="443", protocol="tcp")


def _modvs(**params: str) -> Drift:
    return ("modify_virtual_service", (VS_AT_KEY,), {"params": params})


def _modrs(**params: str) -> Drift:
    return ("modify_real_server", (VS_AT_KEY, "10.40.0.21", 443), {"params": params})


@pytest.mark.parametrize(
    ("drift", "dropped", "problem"),
    [
        (_modvs(Enable="N"), ["Enable"], "VS row Index 1 has no Enable"),
        (_modvs(Schedule="lc"), ["Schedule"], "VS row Index 1 has no Schedule"),
        (_modvs(Transparent="Y"), ["Transparent"], "VS row Index 1 has no Transparent"),
        (
            _modvs(SubnetOriginating="N"),
            ["SubnetOriginating"],
            "VS row Index 1 has no SubnetOriginating",
        ),
        (_modvs(ForceL4="Y", ForceL7="N"), ["Layer"], "VS row Index 1 has no Layer"),
        (
            _modvs(ForceL4="Y", ForceL7="N"),
            ["Layer", "ForceL4", "ForceL7"],
            "VS row Index 1 has no Layer",
        ),
        (
            _modrs(weight="500"),
            ["Rs.Weight"],
            "VS row Index 1 has a real server 10.40.0.21:443 with no Weight",
        ),
        (
            _modrs(enable="N"),
            ["Rs.Enable"],
            "VS row Index 1 has a real server 10.40.0.21:443 with no Enable",
        ),
        (
            _modrs(forward="route"),
            ["Rs.Forward"],
            "VS row Index 1 has a real server 10.40.0.21:443 with no Forward",
        ),
    ],
    ids=[
        "Enable",
        "Schedule",
        "Transparent",
        "SubnetOriginating",
        "Layer",
        "every layer element",
        "Rs Weight",
        "Rs Enable",
        "Rs Forward",
    ],
)
def test_a_managed_setting_left_out_fails_the_read_instead_of_reading_as_the_spec(
    site: Site,
    hostile: HostileAppliance,
    mock_control: MockControl,
    drift: Drift,
    dropped: list[str],
    problem: str,
) -> None:
    # Issue 11: with Enable=N on the appliance and no Enable in the reply, plan showed 0 updates.
    site.raw([drift])
    mock_control.clear_log()
    hostile.rewrite = drop(MARKER, *dropped)
    plan, apply, status = plan_apply_status(site)
    for outcome in (plan, apply):
        assert reported(outcome, MALFORMED + problem).startswith("error: ")
    reported(status, MALFORMED + problem)
    assert mock_control.write_count() == 0


def test_a_row_in_the_form_of_firmware_7_1_reads_its_layer_from_force_l7(
    site: Site, hostile: HostileAppliance
) -> None:
    # Firmware 7.1 sends neither Layer nor ForceL4 (fw7.1-* captures): ForceL7 decides, so a VS
    # forced to layer 4 is still seen as the difference it is.
    site.raw([_modvs(ForceL4="Y", ForceL7="N")])
    hostile.rewrite = drop(MARKER, "Layer", "ForceL4")
    plan = site.plan()
    assert plan.exit_code == 2, plan.output
    assert "Plan: 0 to create, 1 to update, 0 to delete" in plan.output


def test_a_login_page_is_a_web_page_not_forbidden_xml(
    site: Site, hostile: HostileAppliance, mock_control: MockControl
) -> None:
    hostile.rewrite = web_page
    for outcome in plan_apply_status(site):
        reported(outcome, "lm-test answered listvs with a web page, not the API (")
        assert "DTDForbidden" not in outcome.output
    assert mock_control.write_count() == 0


@pytest.mark.parametrize("before", [True, False], ids=["copy first", "copy last"])
def test_two_rows_with_one_key_are_a_conflict_in_either_order(
    site: Site, hostile: HostileAppliance, mock_control: MockControl, before: bool
) -> None:
    # The copy differs (round robin → least connection): whichever row won, plan would write.
    listed = duplicate(MARKER, 99, before=before)
    hostile.rewrite = lambda dialect, body: replace(MARKER, "Schedule", "lc")(
        dialect, listed(dialect, body)
    )
    listed_twice = f"{KEY} is listed 2 times by the appliance (Index 1, 99)"

    plan, apply, status = plan_apply_status(site)

    assert plan.exit_code == 1
    assert f"conflict: hq/https: {listed_twice}; lmctl cannot tell" in plan.output
    assert apply.exit_code == 1
    assert "Traceback" not in apply.output
    assert status.exit_code != 0
    assert listed_twice in " ".join(status.output.split())
    drain = site.lmctl("drain", "hq-cas1", str(site.arrays_dir))
    assert f"({listed_twice}, never changed by lmctl), skipped" in " ".join(drain.output.split())
    assert mock_control.write_count() == 0


def test_the_hostile_appliance_passes_an_honest_reply_through(
    site: Site, hostile: HostileAppliance, mock_control: MockControl
) -> None:
    # The proxy itself changes nothing: the same site plans in sync through it.
    assert site.plan().exit_code == 0
    assert mock_control.write_count() == 0
