"""What an appliance answers is printed as written, never read as rich markup: a VS Status of
``Up[link=...][blink]...`` printed a live OSC 8 link and blinking text on the admin's terminal,
and one holding ``[/]`` ended ``lmctl status`` in a MarkupError traceback (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hostile_appliance import hostile_appliance, replace
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import run_on_terminal
from mock_site import APPLIANCE, Array, Site

HQ = Array("hq", "10.40.0.10", ["10.40.0.21", "10.40.0.22"], services=["https"])
MARKER = "lmctl.hq.https"
LINK = "Up[link=https://evil.example][blink red]CLICK[/blink red][/link]"
# Once read as markup, LINK printed a live link (OSC 8) and this one ended in a MarkupError.
LINK_AND_UNMATCHED_CLOSE = LINK + "[/]"
OSC8 = "\x1b]8;"


@pytest.fixture(params=[("v1", LINK), ("v2", LINK_AND_UNMATCHED_CLOSE)], ids=["v1", "v2"])
def status_with_markup(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    mock_server: MockServerHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Site, str]]:
    """Array ``hq`` applied; its appliance now reports a VS Status holding rich markup (the
    site, and the Status)."""
    dialect, status = request.param
    site = Site.open(tmp_path, mock_server, monkeypatch, HQ)
    assert site.apply().exit_code == 0
    with hostile_appliance(mock_server, replace(MARKER, "Status", status)) as appliance:
        inventory = appliance.inventory(APPLIANCE, dialect)
        (site.arrays_dir / "appliances.yaml").write_text(inventory)
        yield site, status


def _assert_printed_as_written(output: str, status: str) -> None:
    assert "Traceback" not in output and "MarkupError" not in output, output
    # In the Healthy condition's message (the appliance's words) and in the services table.
    assert f"virtual service 10.40.0.10:443/tcp is {status}" in output, output
    assert output.count(status) == 2, output
    assert OSC8 not in output


def test_a_vs_status_holding_markup_is_printed_as_written(
    status_with_markup: tuple[Site, str],
) -> None:
    site, status = status_with_markup
    checked = site.lmctl("status", str(site.arrays_dir), "--request-timeout", "3")
    assert checked.exit_code == 2, checked.output  # degraded: the VS does not say Up
    _assert_printed_as_written(checked.output, status)


def test_a_vs_status_holding_markup_is_printed_as_written_on_a_terminal(
    status_with_markup: tuple[Site, str],
) -> None:
    site, status = status_with_markup
    checked = run_on_terminal(
        site.root,
        {},
        "status",
        str(site.arrays_dir),
        "--state-dir",
        str(site.state_dir),
        "--request-timeout",
        "3",
    )
    assert checked.exit_code == 2, checked.output
    assert "\x1b[" in checked.output  # a terminal indeed: rich coloured the verdict
    _assert_printed_as_written(checked.output, status)
