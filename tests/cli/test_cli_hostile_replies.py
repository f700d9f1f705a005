"""Over real HTTPS on loopback: an appliance that answers malformed ``listvs`` replies (a hostile
HTTPS server in front of the served mock, ``hostile_appliance``) makes ``lmctl plan``, ``apply``
and ``status`` print one ``error:`` line naming the appliance and exit non-zero, and the
appliance receives no write (issue 11, findings 5 and 8), in both dialects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
        site.lmctl("status", "--specs", str(site.arrays_dir), "--request-timeout", "3"),
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
    drain = site.lmctl("drain", "hq-cas1", "--specs", str(site.arrays_dir))
    assert f"({listed_twice}, never changed by lmctl), skipped" in " ".join(drain.output.split())
    assert mock_control.write_count() == 0


def test_the_hostile_appliance_passes_an_honest_reply_through(
    site: Site, hostile: HostileAppliance, mock_control: MockControl
) -> None:
    # The proxy itself changes nothing: the same site plans in sync through it.
    assert site.plan().exit_code == 0
    assert mock_control.write_count() == 0
