"""What apply reports when the read after applying fails, or when one appliance's task
raises something unexpected, over HTTPS against the served mock."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmctl.appliance.changes import Change
from lmctl.appliance.loadmaster import LoadMasterAppliance
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from mock_site import Array, Site, example_site, lmctl

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch, A1)


def test_apply_whose_read_after_applying_fails_exits_4_unverified(
    site: Site, mock_control: MockControl
) -> None:
    # listvs 1: the plan, 2: the check before writing; 3 on: the read after applying (and
    # more 500s than the client's read retries).
    for nth in range(3, 11):
        mock_control.add_fault("http500", command="listvs", nth=nth)
    result = site.apply("--no-backup")
    assert result.exit_code == 4, result.output
    assert "Apply complete" not in result.output
    assert (
        "written but not verified: reading lm-test after applying failed (lm-test failed on "
        "listvs with HTTP 500" in result.output
    )
    assert "; run lmctl plan" in result.output
    mock_control.clear_faults()
    assert site.plan().exit_code == 0


def test_unexpected_error_on_one_appliance_is_reported_there_and_the_others_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while writing to lm-hq stops lm-hq only: lm-branch (the example's other built-in
    appliance) finishes all its writes, and apply exits 4 naming lm-hq's error."""
    arrays = example_site(tmp_path)

    write = LoadMasterAppliance.apply

    async def write_or_break(appliance: LoadMasterAppliance, change: Change) -> None:
        if appliance.name == "lm-hq":
            raise RuntimeError("simulated bug")
        await write(appliance, change)

    monkeypatch.setattr(LoadMasterAppliance, "apply", write_or_break)
    result = lmctl(tmp_path, "apply", str(arrays), "--auto-approve", "--no-backup")
    assert result.exit_code == 4, result.output
    assert (
        "lm-hq: unexpected error after 0 writes (RuntimeError: simulated bug); please report "
        "it; run lmctl plan" in result.output
    )
    assert re.search(r"lm-branch: (\d+) of \1 writes done", result.output), result.output
    monkeypatch.undo()
    branch = lmctl(tmp_path, "plan", str(arrays), "-a", "lm-branch", "--detailed-exitcode")
    assert branch.exit_code == 0, branch.output
