"""A fault injected at every write position of a multi-array apply, over HTTPS.

For each position and each kind of fault (dropped connection, HTTP 500, write applied but
unanswered, and a 500 on the write and on its one resend), the faulted apply either retries
cleanly (exit 0) or stops with a report (exit 4); no kept service is ever left without an
enabled member; a second apply always converges and a plan afterwards is empty.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from lmctl.appliance.changes import Change
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from mock_site import Array, Site

BEFORE = (
    Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12", "10.1.1.13"]),
    Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12", "10.1.2.13"]),
)
AFTER = (
    Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12", "10.1.1.14"], scheduling="lc"),
    Array("a2", "10.1.2.50", BEFORE[1].members, services=["https", "smtp", "imap4s"]),
)
KEPT = (("10.1.1.50", "443"), ("10.1.1.50", "25"), ("10.1.2.50", "443"), ("10.1.2.50", "25"))


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch)


def transition_writes(site: Site) -> list[tuple[str, int]]:
    """Each write of the transition as (command, how many of that command came before + 1)."""
    site.write(*AFTER)
    plan = json.loads(site.plan("--format", "json").stdout)
    seen: dict[str, int] = {}
    writes = []
    for change in plan["appliances"][0]["changes"]:
        command: str = TypeAdapter(Change).validate_python(change).command
        seen[command] = seen.get(command, 0) + 1
        writes.append((command, seen[command]))
    return writes


def assert_serving(site: Site) -> None:
    services = {(vs.address, vs.port): vs for vs in site.read()}
    for kept in KEPT:
        assert any(rs.enable for rs in services[kept].real_servers), f"{kept} has no member"


def start_from_before(site: Site) -> None:
    """Back to the BEFORE arrays (forced: going back removes a third of the real servers)."""
    site.write(*BEFORE)
    result = site.apply("--no-backup", "--force")
    assert result.exit_code == 0, result.output
    site.write(*AFTER)


@pytest.mark.parametrize("kind", ["drop", "http500", "reset_after_write", "http500-twice"])
def test_fault_at_every_write_position_converges(
    site: Site, mock_control: MockControl, kind: str
) -> None:
    start_from_before(site)
    writes = transition_writes(site)
    assert len(writes) == 10
    outcomes = set()
    for command, nth in writes:
        start_from_before(site)
        fault = "http500" if kind == "http500-twice" else kind
        mock_control.add_fault(fault, command=command, nth=nth)  # type: ignore[arg-type]
        if kind == "http500-twice":
            mock_control.add_fault("http500", command=command, nth=nth + 1)
        faulted = site.apply("--no-backup")
        assert faulted.exit_code in (0, 4), faulted.output
        outcomes.add(faulted.exit_code)
        if faulted.exit_code == 4:
            assert "failed: " in faulted.output
            assert "Apply incomplete" in faulted.output
        assert_serving(site)
        mock_control.clear_faults()
        if faulted.exit_code == 4:
            again = site.apply("--no-backup")
            assert again.exit_code == 0, again.output
            assert_serving(site)
        assert site.plan().exit_code == 0
    if kind == "http500-twice":
        assert outcomes == {4}


STALL_SECONDS = 1.0


@pytest.mark.parametrize(("command", "stalls"), [("addrs", 1), ("modvs", 2), ("delrs", 2)])
def test_write_stalled_past_the_client_timeout_converges(
    site: Site, mock_control: MockControl, command: str, stalls: int
) -> None:
    """The appliance takes a write only after lmctl's ``--timeout``: once (the client reads it
    back, finds it not applied and resends it) or twice (the resend stalls too: exit 4)."""
    start_from_before(site)
    for nth in range(1, stalls + 1):
        mock_control.add_fault("stall", command=command, nth=nth, stall_seconds=STALL_SECONDS)
    faulted = site.lmctl(
        "apply", str(site.arrays_dir), "--auto-approve", "--no-backup", "--request-timeout", "0.3"
    )
    if stalls == 1:
        assert faulted.exit_code == 0, faulted.output
        assert "Apply complete: 10 writes made." in faulted.output
    else:
        assert faulted.exit_code == 4, faulted.output
        assert f"lm-test: {command} " in faulted.output
        assert "FAILED: " in faulted.output
        assert "timed out (ReadTimeout after 0.3 s)" in faulted.output
        assert "not attempted (" in faulted.output
        assert "Apply incomplete" in faulted.output
    time.sleep(STALL_SECONDS)  # the stalled writes land late, after lmctl gave up on them
    landed = [c for c in mock_control.calls() if c.command == command]
    assert len(landed) >= stalls
    assert_serving(site)
    again = site.apply("--no-backup")
    assert again.exit_code == 0, again.output
    assert site.plan().exit_code == 0
    assert not site.state_dir.joinpath("backups").exists()  # --no-backup: none taken
